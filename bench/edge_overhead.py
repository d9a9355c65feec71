"""What the edge layers (security headers, body limit; dashboard/edge.py) cost a request.

In-process, over httpx's ASGI transport, so only the layers' own work is timed: a JSON
route, and an `/admin`-sized HTML page (NiceGUI's overview is ~60 KB before gzip)
whose inline scripts are hashed per response, plain and gzipped. Prints microseconds
per request with and without the edge. Run: `.venv/bin/python -m bench.edge_overhead`.
"""

from __future__ import annotations

import asyncio
import gzip as gzip_module
import statistics
import time

import httpx
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.middleware.gzip import GZipMiddleware

from dashboard.edge import install_edge
from dashboard.security_headers import inline_script_hashes
from dashboard.settings import load_settings

PAGE = (
    "<html><head><script type='importmap'>{}</script><script>addStyle = 1;</script></head>"
    + "<div class='q-card'>row</div>" * 2400
    + "<script type='module'>createApp(parseElements(String.raw`"
    + "{}" * 2000
    + "`));</script></html>"
)
ROUNDS = 1000


def build(with_edge: bool) -> FastAPI:
    app = FastAPI()
    if with_edge:
        install_edge(app, load_settings(secret_key="k" * 40))
    app.add_middleware(GZipMiddleware)

    @app.get("/api/ping")
    async def ping() -> JSONResponse:
        return JSONResponse({"ok": True})

    @app.get("/admin/page")
    async def page() -> HTMLResponse:
        return HTMLResponse(PAGE)

    return app


async def per_request_us(app: FastAPI, path: str, gzip: bool) -> float:
    headers = {"Accept-Encoding": "gzip" if gzip else "identity"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for _ in range(50):
            await client.get(path, headers=headers)
        samples = []
        for _ in range(5):
            began = time.perf_counter()
            for _ in range(ROUNDS // 5):
                await client.get(path, headers=headers)
            samples.append((time.perf_counter() - began) / (ROUNDS // 5) * 1e6)
    return statistics.median(samples)


def own_work_us() -> tuple[float, float]:
    """The layer's own work on one page, timed alone: (hash the scripts, gunzip)."""
    body = PAGE.encode()
    packed = gzip_module.compress(body)
    began = time.perf_counter()
    for _ in range(500):
        inline_script_hashes(body)
    hashing = (time.perf_counter() - began) / 500 * 1e6
    began = time.perf_counter()
    for _ in range(500):
        gzip_module.decompress(packed)
    return hashing, (time.perf_counter() - began) / 500 * 1e6


async def main() -> None:
    hashing, gunzip = own_work_us()
    print(f"own work per /admin page: hash scripts {hashing:.0f} us, gunzip {gunzip:.0f} us")
    print(f"page {len(PAGE) / 1024:.0f} KB; lowest of 3 interleaved medians of 5 x {ROUNDS // 5}")
    apps = {False: build(False), True: build(True)}
    for path, gzip in (("/api/ping", False), ("/admin/page", False), ("/admin/page", True)):
        runs: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(3):  # interleaved, the lowest of each: the machine is shared
            for edge in (False, True):
                runs[edge].append(await per_request_us(apps[edge], path, gzip))
        without, with_edge = min(runs[False]), min(runs[True])
        label = f"{path}{' (gzip)' if gzip else ''}"
        print(f"{label:22} without {without:7.0f} us  with edge {with_edge:7.0f} us"
              f"  (+{with_edge - without:.0f} us)")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
