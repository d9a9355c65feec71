"""The server table's pager label: exact when counted, a marked estimate beyond
10,000, and never a total it does not know."""

from __future__ import annotations

from dashboard.components.table import pager_label
from dashboard.data.models import MatchCount


def test_a_counted_total_is_printed_exactly() -> None:
    assert pager_label(0, 50, MatchCount(count=3341), more=True) == "1-50 of 3,341"
    assert pager_label(50, 100, MatchCount(count=3341), more=True) == "51-100 of 3,341"


def test_an_estimate_beyond_ten_thousand_is_marked() -> None:
    big = MatchCount(count=1_234_567, estimated=True)
    assert pager_label(0, 50, big, more=True) == "1-50 of ≈ 1.2M"
    mid = MatchCount(count=45_612, estimated=True)
    assert pager_label(0, 50, mid, more=True) == "1-50 of ≈ 45,600"


def test_an_estimate_the_planner_could_not_make_says_more_than_ten_thousand() -> None:
    low = MatchCount(count=10_001, estimated=True)
    assert pager_label(0, 50, low, more=True) == "1-50 of more than 10,000"


def test_an_uncounted_table_says_more_than_what_it_has_seen() -> None:
    assert pager_label(0, 50, None, more=True) == "1-50 of more than 50"
    assert pager_label(100, 120, None, more=False) == "101-120 of 120"
