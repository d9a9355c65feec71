"""`GET /healthz`: the database answers and the live subscription is connected."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from dashboard.runtime import get_runtime

router = APIRouter()


@router.get("/healthz")
async def healthz() -> JSONResponse:
    runtime = get_runtime()
    checks: dict[str, object] = {"mode": runtime.mode}
    try:
        async with runtime.db.owner() as conn:
            await conn.execute("select 1")
        checks["database"] = "ok"
    except Exception as exc:  # the check reports any failure, it must not raise
        checks["database"] = f"error: {exc}"
    live = runtime.services.get("live")
    checks["realtime"] = "connected" if live is not None and live.connected else "disconnected"
    healthy = checks["database"] == "ok" and checks["realtime"] == "connected"
    return JSONResponse(checks, status_code=200 if healthy else 503)
