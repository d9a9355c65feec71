"""A server-paged table: only one page of rows ever goes to the browser.

Paging is by keyset (`id < last id of the previous page`), so page 2,000 of a
million rows costs what page 1 costs. Quasar's pager asks through the `request`
event. The page supplies `fetch(before_id, limit)`, which applies its own filters and
returns rows newest first: a list, or `CountedRows` whose `total` on the first page
says how many match (exact up to 10,000, else a flagged estimate). The pager then
reads "1-50 of 3,341", "1-50 of ≈ 1.2M" or "1-50 of more than 10,000"; a fetch
without a total reads "1-50 of more than 50" while older rows exist, so no slow
`count(*)` runs on big tables and no pager claims a total it does not know.
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from nicegui import ui
from nicegui.events import GenericEventArguments

from dashboard.components.status import tone
from dashboard.data.filters import matches
from dashboard.data.models import EXACT_MATCHES, CountedRows, MatchCount
from dashboard.data.query import BackendError, Filter

Row = dict[str, Any]
Fetch = Callable[[int | None, int], Awaitable[Sequence[Row] | CountedRows]]
Format = Callable[[Row], Row]
Link = Callable[[Row], str]
#: a jump forward walks at most this many rows from the last known cursor (every page
#: of an exact total, 10,000 rows, is reachable); each step reads up to WALK_CHUNK rows
log = logging.getLogger(__name__)
MAX_WALK_ROWS = EXACT_MATCHES
WALK_CHUNK = 500
#: A cell that is a real link (Tab reaches it, a middle click opens a new tab); its
#: click does not also count as a click on the row.
LINK_CELL = (
    '<q-td :props="props"><a class="nicegui-link" :href="props.row._href"'
    " @click.stop>{{ props.value }}</a></q-td>"
)
#: A state cell as a badge of the one status palette (components/status.py).
STATUS_CELL = (
    '<q-td :props="props"><span v-if="props.value" class="status-badge"'
    ' :class="\'tone-\' + props.row._tone_%(name)s" :data-tone="props.row._tone_%(name)s">'
    "{{ props.value }}</span></q-td>"
)


def column(name: str, label: str, *, align: str = "left", classes: str = "") -> dict[str, Any]:
    return {"name": name, "label": label, "field": name, "align": align, "classes": classes}


class ServerTable:
    """`ui.table` plus keyset cursors; `reload()` after a filter changes."""

    def __init__(
        self,
        columns: list[dict[str, Any]],
        fetch: Fetch,
        *,
        page_size: int = 50,
        key: str = "id",
        format_row: Format | None = None,
        export_url: str | None = None,
        link: tuple[str, Link] | None = None,
        states: Sequence[str] = (),
    ) -> None:
        """`link` is `(column, href of a row)`: that column's cells are links to the row;
        `states` are columns of state words shown as status badges."""
        self.fetch = fetch
        self.link, self.states = link, tuple(states)
        self.key = key
        self.page_size = page_size
        self.format_row = format_row or (lambda row: row)
        self.page = 1  # the page on screen
        self._wanted = 1  # the page last asked for: on screen, or still loading
        self._latest = 0  # number of the latest load; an earlier one's rows are stale
        self._cursors: dict[int, int | None] = {1: None}
        self.raw_rows: list[Row] = []
        self.more = False
        self.total: MatchCount | None = None  # how many match, when the fetch counts
        self.held_reason: str | None = None  # set by `hold`: no rows until `reload`
        self._last_error: str | None = None  # said once, not again on every live reload
        self._loading = 0
        self._held: list[tuple[list[Row], set[Any]]] = []  # merges that arrived mid-load
        with ui.row().classes("w-full items-center gap-2"):
            self.summary = ui.label("").classes("text-sm text-gray-500")
            ui.space()
            self.export = ui.html("", sanitize=False).classes("text-sm")
        self.set_export_url(export_url)
        self.table = ui.table(
            rows=[],
            columns=columns,
            row_key=key,
            pagination={"rowsPerPage": page_size, "page": 1, "rowsNumber": 0},
        ).classes("w-full")
        self.table.props("flat bordered dense wrap-cells")
        # A list, not a props string: Quasar needs an array (a string broke the first render).
        self.table.props["rows-per-page-options"] = [25, 50, 100, 200]
        self.table.on("request", self._on_request)
        if link is not None:
            self.table.add_slot(f"body-cell-{link[0]}", LINK_CELL)
        for name in self.states:
            self.table.add_slot(f"body-cell-{name}", STATUS_CELL % {"name": name})

    def _decorate(self, row: Row) -> Row:
        """The row as shown: its link and the tone of each state column."""
        if self.link is not None:
            row["_href"] = self.link[1](row)
        for name in self.states:
            row[f"_tone_{name}"] = tone(str(row.get(name) or ""))
        return row

    def set_export_url(self, url: str | None) -> None:
        self.export.content = (
            f'<a class="underline" href="{html.escape(url)}" download>Export CSV</a>' if url else ""
        )

    async def reload(self) -> None:
        """Forget cursors and show the newest page (after a filter change)."""
        self._cursors = {1: None}
        self.total = None
        self.held_reason = None
        await self.load(1)

    def hold(self, reason: str) -> None:
        """Show no rows, only `reason`, until the next `reload()`: the filters above are
        not valid, and rows of the earlier query would read as this one's. Live reloads
        and pager requests wait too (a load under way shows nothing)."""
        self.held_reason = reason
        self.set_export_url(None)  # it would export the earlier query's rows
        self._latest += 1
        self.total, self.more = None, False
        self._show(1, [])

    async def refresh_first_page(self) -> None:
        """Live tail: re-read page 1 only when it is the page on screen, or on its way
        (an admin's request for another page wins over the tail)."""
        if self._wanted == 1 and self.held_reason is None:
            await self.load(1)

    def merge_rows(self, rows: Sequence[Row], filters: list[Filter]) -> bool:
        """`merge_first_page` for a burst's rows, kept when they pass `filters`."""
        touched = {r[self.key] for r in rows}
        return self.merge_first_page([r for r in rows if matches(r, filters)], touched)

    def merge_first_page(self, rows: Sequence[Row], touched: set[Any]) -> bool:
        """Live tail without a query: fold a burst's rows into page 1.

        `touched` are the ids the burst changed; `rows` those of them that pass the
        page's filters. A touched row that no longer passes leaves the page. Returns
        False when the page cannot be kept right in memory (rows left a full page, so
        the next older rows are unknown): the caller then reloads page 1.
        """
        if self._loading:
            self._held.append((list(rows), set(touched)))
            return True
        if self.page != 1 or self.held_reason is not None:
            return True
        kept = [r for r in self.raw_rows if r[self.key] not in touched]
        if len(kept) + len(rows) < len(self.raw_rows) and self.more:
            return False
        merged = sorted([*kept, *rows], key=lambda r: r[self.key], reverse=True)
        self.more = self.more or len(merged) > self.page_size
        self._show(1, merged[: self.page_size])
        return True

    async def _on_request(self, e: GenericEventArguments) -> None:
        if self.held_reason is not None:
            return
        pagination = e.args.get("pagination", {}) if isinstance(e.args, dict) else {}
        size = int(pagination.get("rowsPerPage") or self.page_size)
        if size != self.page_size:
            self.page_size = size
            self._cursors = {1: None}
        await self.load(max(1, int(pagination.get("page") or 1)))

    async def _cursor_for(self, page: int) -> tuple[int, int | None]:
        """The nearest page we can reach, walking forward from the last known cursor in
        steps of up to WALK_CHUNK rows (one read gives the cursors of several pages)."""
        known = max(p for p in self._cursors if p <= page)
        size = self.page_size
        chunk = max(size, (WALK_CHUNK - 1) // size * size)
        while known < page and (known - 1) * size < MAX_WALK_ROWS:
            want = min(chunk, (page - known) * size)
            # one row more than the pages walked: a page is reached only if it has a row
            rows = _rows(await self.fetch(self._cursors[known], want + 1))
            reached = min(want, len(rows) - 1) // size if rows else 0
            for i in range(1, reached + 1):
                self._cursors[known + i] = int(rows[i * size - 1][self.key])
            known += reached
            if reached == 0 or len(rows) <= want:
                break
        return known, self._cursors[known]

    async def load(self, page: int) -> None:
        """Show `page`; a load that a later one overtook shows nothing (its rows are older
        than, or not, what the admin asked for last)."""
        self._wanted = page
        self._latest += 1
        this_load = self._latest
        self._loading += 1
        try:
            page, cursor = await self._cursor_for(page)
            fetched = await self.fetch(cursor, self.page_size + 1)
        except BackendError as exc:
            if this_load == self._latest:
                self._failed(exc)
            return
        finally:
            self._loading -= 1
        if this_load != self._latest:
            if not self._loading:  # the later load is done: bursts held since are due
                await self._release_held()
            return
        self._wanted = page  # the page reached (a page past the end shows the last one)
        rows = _rows(fetched)
        if isinstance(fetched, CountedRows) and fetched.total is not None:
            self.total = fetched.total
        self.more = len(rows) > self.page_size
        self._last_error = None
        self._show(page, rows[: self.page_size])
        await self._release_held()

    def _failed(self, exc: BackendError) -> None:
        """Say a failed read in the page's words, once until a read succeeds (a live
        reload every 2 s must not toast every 2 s). Input the database refused leaves
        no rows on screen; an outage keeps the last rows, and says so."""
        log.warning("table read failed: %s", exc)
        if exc.is_invalid_input:
            text = "These filters cannot be searched: change them and search again."
            self.total, self.more = None, False
            self._show(1, [])
        else:
            text = "Could not load rows just now; the rows shown were read earlier."
        self.summary.text = text
        if text != self._last_error:
            ui.notify(text, type="negative")
        self._last_error = text

    async def _release_held(self) -> None:
        """Merge the bursts that arrived while pages loaded (they may be newer)."""
        held, self._held = self._held, []
        for merge in held:
            if not self.merge_first_page(*merge):
                await self.load(1)
                return

    def _show(self, page: int, rows: list[Row]) -> None:
        if rows:
            self._cursors[page + 1] = int(rows[-1][self.key])
        self.page = page
        self.raw_rows = rows
        self.table.rows = [self._decorate(self.format_row(dict(r))) for r in rows]
        first = (page - 1) * self.page_size
        last = first + len(rows)
        if self.total is not None and not self.total.estimated:
            # a total counted before a live change may lag: never below what is on screen
            number = max(self.total.count, last + (1 if self.more else 0))
        elif self.total is not None:
            number = max(self.total.count, last + 1)
        else:
            number = last + (1 if self.more else 0)
        self.table.pagination = {"rowsPerPage": self.page_size, "page": page, "rowsNumber": number}
        label = pager_label(first, last, self.total, self.more)
        # Quasar's own label would print rowsNumber as if it were exact
        self.table.props[":pagination-label"] = f"() => {json.dumps(label)}"
        self.summary.text = self.held_reason or (f"rows {label}" if rows else "no rows match")


def _rows(fetched: Sequence[Row] | CountedRows) -> list[Row]:
    return list(fetched.rows if isinstance(fetched, CountedRows) else fetched)


def approximately(count: int) -> str:
    """An estimate as people read one: "≈ 1.2M", "≈ 45,600"."""
    if count >= 1_000_000:
        return f"≈ {count / 1_000_000:.1f}M"
    return f"≈ {int(float(f'{count:.3g}')):,}"


def pager_label(first: int, last: int, total: MatchCount | None, more: bool) -> str:
    """ "1-50 of 3,341": exact when counted, "≈ 1.2M" or "more than 10,000" beyond the
    exact limit, "more than 50" when the fetch does not count and older rows exist."""
    shown = f"{first + 1:,}-{last:,}" if last > first else "0"
    if total is not None and not total.estimated:
        return f"{shown} of {max(total.count, last):,}"
    if total is not None and total.count > EXACT_MATCHES + 1:
        return f"{shown} of {approximately(total.count)}"
    if total is not None:
        return f"{shown} of more than {EXACT_MATCHES:,}"
    return f"{shown} of more than {last:,}" if more else f"{shown} of {last:,}"
