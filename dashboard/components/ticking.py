"""Relative times that advance in the browser every second, with no server round trip.

`since_html(at)` renders `<span data-since="<epoch ms>">42s</span>`: the server's text
is right when it is sent, and one shared ticker script (`ticker_script()`, added to
every page once per process by the health bar) rewrites every such span each second
from its timestamp, in the same format as `dashboard.ages.format_age`. It corrects the
browser's clock by the server's at page load (the health bar's `data-server-ms`), so a
wrong clock on the admin's laptop does not show a fresh heartbeat as an hour old. Content
that carries only timestamps also changes less often, so `Block.show` sends less.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from html import escape

from dashboard.ages import format_age


class Html(str):
    """A string that is already HTML (escaped by whoever made it): `facts_html` keeps it."""

    __slots__ = ()


def epoch_ms(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


def since_html(at: datetime | None, now: datetime | None = None, suffix: str = "") -> Html:
    """How long ago `at` was, ticking in the browser; `never` when there is no time."""
    if at is None:
        return Html(escape(format_age(None)))
    now = now or datetime.now(UTC)
    text = format_age((now - at).total_seconds(), suffix)
    return Html(
        f'<span class="cs-since" data-since="{epoch_ms(at)}"'
        f' data-suffix="{escape(suffix)}">{escape(text)}</span>'
    )


#: Mirrors `format_age`: 42s, 3m 12s, 5h 03m, 2d 4h.
TICKER_JS = """
(() => {
  if (window.csTicker) return;
  let skew = null;  // server clock minus this browser's, from the page's data-server-ms
  const pad = (n) => String(n).padStart(2, '0');
  const age = (s) => {
    s = Math.max(0, Math.floor(s));
    if (s < 60) return s + 's';
    let m = Math.floor(s / 60); const sec = s % 60;
    if (m < 60) return m + 'm ' + pad(sec) + 's';
    let h = Math.floor(m / 60); m = m % 60;
    if (h < 48) return h + 'h ' + pad(m) + 'm';
    const d = Math.floor(h / 24); h = h % 24;
    return d + 'd ' + h + 'h';
  };
  window.csAge = age;
  const loaded = Date.now();
  const tick = () => {
    if (skew === null) {
      const mark = document.querySelector('[data-server-ms]');
      skew = mark ? Number(mark.dataset.serverMs) - loaded : 0;
    }
    const now = Date.now() + skew;
    for (const el of document.querySelectorAll('[data-since]')) {
      const text = age((now - Number(el.dataset.since)) / 1000) + (el.dataset.suffix || '');
      if (el.textContent !== text) el.textContent = text;
    }
  };
  window.csTicker = setInterval(tick, 1000);
})();
"""


#: Marks the shared script, so it is added to the app's pages once.
TICKER_ID = "cs-ticker"


def ticker_script() -> str:
    """The relative-time ticker, the same for every page (added once, shared)."""
    return f'<script id="{TICKER_ID}">{TICKER_JS}</script>'


def server_ms(now: float | None = None) -> int:
    """The server's clock for `data-server-ms`: the ticker corrects the browser's by it."""
    return int((time.time() if now is None else now) * 1000)
