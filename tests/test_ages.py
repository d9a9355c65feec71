"""One way to say an age (`dashboard.ages`): the cards, the ticking spans and their
browser script, the "why" of a business and the terminal views all read the same."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from dashboard.ages import format_age, format_ago
from dashboard.components.ticking import TICKER_JS, since_html
from dashboard.components.timefmt import format_duration

NOW = datetime(2026, 11, 25, 14, 3, 7, tzinfo=UTC)
CASES = [
    (0, "0s"),
    (42.9, "42s"),
    (59, "59s"),
    (60, "1m 00s"),
    (192, "3m 12s"),
    (3599, "59m 59s"),
    (3600, "1h 00m"),
    (5 * 3600 + 3 * 60 + 59, "5h 03m"),
    (47 * 3600 + 59 * 60, "47h 59m"),
    (48 * 3600, "2d 0h"),
    (2 * 86400 + 4 * 3600 + 1800, "2d 4h"),
]


@pytest.mark.parametrize(("seconds", "text"), CASES)
def test_an_age_is_said_in_its_two_largest_units(seconds: float, text: str) -> None:
    assert format_age(seconds) == text
    assert format_age(seconds, " ago") == f"{text} ago"


def test_an_unknown_age_is_never_and_takes_no_suffix() -> None:
    assert format_age(None) == "never"
    assert format_age(None, " ago") == "never"
    assert format_ago(None, NOW) == "never"


def test_a_moment_in_the_future_is_zero_seconds_ago_not_negative() -> None:
    assert format_age(-5) == "0s"
    assert format_ago(NOW + timedelta(seconds=3), NOW) == "0s ago"


def test_format_ago_says_how_long_before_now_a_moment_was() -> None:
    assert format_ago(NOW - timedelta(hours=2, seconds=20), NOW) == "2h 00m ago"
    assert format_ago(NOW - timedelta(seconds=75), NOW) == "1m 15s ago"


def test_the_ticking_span_and_the_duration_of_a_run_use_the_same_words() -> None:
    html = since_html(NOW - timedelta(seconds=192), now=NOW, suffix=" ago")
    assert ">3m 12s ago<" in html and 'data-suffix=" ago"' in html
    assert since_html(None) == "never"
    assert format_duration(NOW - timedelta(minutes=5), NOW) == "5m 00s"


def test_the_browser_ticker_mirrors_the_same_thresholds() -> None:
    # the JavaScript copy of format_age: the same unit boundaries (60 s, 60 min, 48 h)
    assert re.search(r"if \(s < 60\) return s \+ 's'", TICKER_JS)
    assert re.search(r"if \(m < 60\) return m \+ 'm ' \+ pad\(sec\) \+ 's'", TICKER_JS)
    assert re.search(r"if \(h < 48\) return h \+ 'h ' \+ pad\(m\) \+ 'm'", TICKER_JS)
    assert "return d + 'd ' + h + 'h'" in TICKER_JS
