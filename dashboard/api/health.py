"""`GET /healthz`: whether this instance, its database and its workers are healthy.

The status code answers "is this instance up": 200 when the database answers and the
live subscription is connected, else 503 (what a load balancer needs). The body says
more, machine-readably: each process's workers (stale or not, heartbeat age, live
worker count) and the alerts that fire. An uptime monitor that should also page when
the workers are down asks `GET /healthz?workers=1`: then a stale process, or any
firing alert, makes it 503 too. Workers and alerts come from what the process already
holds (the live snapshot, the alert loop's state): the check adds one `select 1`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from dashboard.data.health_reads import ping
from dashboard.health.staleness import as_snapshot
from dashboard.health.summary import get_health_state
from dashboard.runtime import get_runtime

router = APIRouter()

#: A load balancer wants an answer, not a 30 s wait for a pool connection.
DATABASE_CHECK_SECONDS = 2.0


def workers_report(live: Any) -> dict[str, Any] | None:
    snapshot = as_snapshot(getattr(live, "snapshot", None))
    if snapshot is None:
        return None
    return {
        s.process: {
            "state": s.state,
            "desired_state": s.desired_state,
            "stale": s.is_stale,
            "workers": s.worker_count,
            "last_heartbeat_at": s.last_heartbeat_at and s.last_heartbeat_at.isoformat(),
            "heartbeat_age_seconds": s.heartbeat_age_seconds,
            "paused_reason": s.paused_reason,
        }
        for s in snapshot.status
    }


@router.get("/healthz")
async def healthz(workers: bool = False) -> JSONResponse:
    runtime = get_runtime()
    checks: dict[str, object] = {"mode": runtime.mode}
    try:
        await asyncio.wait_for(ping(runtime.db), DATABASE_CHECK_SECONDS)
        checks["database"] = "ok"
    except TimeoutError:
        checks["database"] = f"error: no answer within {DATABASE_CHECK_SECONDS:g} s"
    except Exception as exc:  # the check reports any failure, it must not raise
        checks["database"] = f"error: {exc}"
    live = runtime.services.get("live")
    checks["realtime"] = "connected" if live is not None and live.connected else "disconnected"
    healthy = checks["database"] == "ok" and checks["realtime"] == "connected"
    report = workers_report(live)
    checks["workers"] = report
    state = get_health_state(runtime.services)
    checks["alerts"] = {
        "firing": len(state.firing),
        "items": [
            {"id": a.id, "kind": a.kind, "title": a.title, "since": a.since.isoformat()}
            for a in state.firing
        ],
    }
    workers_ok = report is not None and not any(p["stale"] for p in report.values())
    checks["workers_healthy"] = workers_ok
    if workers:
        healthy = healthy and workers_ok and not state.firing
    checks["healthy"] = healthy
    return JSONResponse(checks, status_code=200 if healthy else 503)
