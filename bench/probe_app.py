"""The live-latency baseline: a bare LISTEN/NOTIFY -> NiceGUI `@ui.refreshable` page.

One psycopg connection LISTENs on `bench_probe`; each notice's payload becomes the
text of a refreshed label. No auth, no bus, no snapshot query: the floor that the
real pages are compared with in the same run.

Run: python -m bench.probe_app <database_url> <port>
"""

from __future__ import annotations

import sys

import psycopg
from nicegui import app, background_tasks, ui

CHANNEL = "bench_probe"
state = {"text": "waiting"}


@ui.refreshable
def probe_label() -> None:
    ui.label(state["text"]).props('data-testid="probe"')


@ui.page("/")
def index() -> None:
    probe_label()


async def listen(url: str) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(f"listen {CHANNEL}")
        async for notice in conn.notifies():
            state["text"] = notice.payload
            probe_label.refresh()


if __name__ in {"__main__", "__mp_main__"}:
    database_url, port = sys.argv[1], int(sys.argv[2])
    app.on_startup(lambda: background_tasks.create(listen(database_url), name="probe-listen"))
    ui.run(host="127.0.0.1", port=port, reload=False, show=False, show_welcome_message=False,
           title="probe")  # fmt: skip
