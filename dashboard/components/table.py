"""A server-paged table: only one page of rows ever goes to the browser.

Paging is by keyset (`id < last id of the previous page`), so page 2,000 of a
million rows costs what page 1 costs. Quasar's pager asks through the `request`
event; `rowsNumber` is set to what is known (rows so far, plus one when another page
exists), so no slow `count(*)` runs on big tables. The page supplies `fetch(before_id,
limit)`, which applies its own filters and returns rows newest first.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from nicegui import ui
from nicegui.events import GenericEventArguments

from dashboard.components.status import tone
from dashboard.data.filters import matches
from dashboard.data.query import BackendError, Filter

Row = dict[str, Any]
Fetch = Callable[[int | None, int], Awaitable[Sequence[Row]]]
Format = Callable[[Row], Row]
Link = Callable[[Row], str]
MAX_WALK_PAGES = 200
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
        await self.load(1)

    async def refresh_first_page(self) -> None:
        """Live tail: re-read page 1 only when it is the page on screen, or on its way
        (an admin's request for another page wins over the tail)."""
        if self._wanted == 1:
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
        if self.page != 1:
            return True
        kept = [r for r in self.raw_rows if r[self.key] not in touched]
        if len(kept) + len(rows) < len(self.raw_rows) and self.more:
            return False
        merged = sorted([*kept, *rows], key=lambda r: r[self.key], reverse=True)
        self.more = self.more or len(merged) > self.page_size
        self._show(1, merged[: self.page_size])
        return True

    async def _on_request(self, e: GenericEventArguments) -> None:
        pagination = e.args.get("pagination", {}) if isinstance(e.args, dict) else {}
        size = int(pagination.get("rowsPerPage") or self.page_size)
        if size != self.page_size:
            self.page_size = size
            self._cursors = {1: None}
        await self.load(max(1, int(pagination.get("page") or 1)))

    async def _cursor_for(self, page: int) -> tuple[int, int | None]:
        """The nearest page we can reach, walking forward from the last known cursor."""
        known = max(p for p in self._cursors if p <= page)
        while known < page and known - 1 < MAX_WALK_PAGES:
            rows = await self.fetch(self._cursors[known], self.page_size)
            if len(rows) < self.page_size:
                break
            known += 1
            self._cursors[known] = int(rows[-1][self.key])
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
            rows = list(await self.fetch(cursor, self.page_size + 1))
        except BackendError as exc:
            ui.notify(f"Could not load rows: {exc.message}", type="negative")
            return
        finally:
            self._loading -= 1
        if this_load != self._latest:
            if not self._loading:  # the later load is done: bursts held since are due
                await self._release_held()
            return
        self._wanted = page  # the page reached (a page past the end shows the last one)
        self.more = len(rows) > self.page_size
        self._show(page, rows[: self.page_size])
        await self._release_held()

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
        self.table.pagination = {
            "rowsPerPage": self.page_size,
            "page": page,
            "rowsNumber": first + len(rows) + (1 if self.more else 0),
        }
        shown = f"rows {first + 1} to {first + len(rows)}" if rows else "no rows match"
        self.summary.text = shown + (" (more older)" if self.more else "")
