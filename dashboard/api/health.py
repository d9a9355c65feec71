"""`GET /healthz`: the database answers and the live subscription is connected."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from dashboard.runtime import Runtime, get_runtime

router = APIRouter()

#: A load balancer wants an answer, not a 30 s wait for a pool connection.
DATABASE_CHECK_SECONDS = 2.0


async def _ping(runtime: Runtime) -> None:
    async with runtime.db.owner() as conn:
        await conn.execute("select 1")


@router.get("/healthz")
async def healthz() -> JSONResponse:
    runtime = get_runtime()
    checks: dict[str, object] = {"mode": runtime.mode}
    try:
        await asyncio.wait_for(_ping(runtime), DATABASE_CHECK_SECONDS)
        checks["database"] = "ok"
    except TimeoutError:
        checks["database"] = f"error: no answer within {DATABASE_CHECK_SECONDS:g} s"
    except Exception as exc:  # the check reports any failure, it must not raise
        checks["database"] = f"error: {exc}"
    live = runtime.services.get("live")
    checks["realtime"] = "connected" if live is not None and live.connected else "disconnected"
    healthy = checks["database"] == "ok" and checks["realtime"] == "connected"
    return JSONResponse(checks, status_code=200 if healthy else 503)
