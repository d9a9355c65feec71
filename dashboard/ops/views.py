"""Terminal views: `cliftonsites queue`, `status` and `logs`, as data (for `--json`)
and as readable text tables. Reads as the owner, straight from the tables and views."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, get_args

import psycopg
from psycopg.rows import dict_row

from dashboard.ages import format_age
from dashboard.components.timefmt import format_time
from dashboard.data.models import LogLevel, LogProcess
from dashboard.ops.render import table

Record = dict[str, Any]
LEVELS: tuple[LogLevel, ...] = get_args(LogLevel)
PROCESSES: tuple[LogProcess, ...] = get_args(LogProcess)


def _rows(conn: psycopg.Connection[Any], query: str, params: Any = None) -> list[Record]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, params).fetchall()


def queue_data(conn: psycopg.Connection[Any], limit: int = 10) -> Record:
    return {
        "statuses": _rows(conn, "select * from public.v_queue_status"),
        "next": _rows(
            conn,
            "select id, place_id, name, city, region, category, priority, attempts, created_at"
            " from public.pipeline_businesses where status = 'queued'"
            " order by (-priority), created_at, id limit %s",
            (limit,),
        ),
    }


def queue_text(data: Record) -> str:
    statuses = [
        (s["status"], s["count"], s["oldest_at"], s["stale_count"]) for s in data["statuses"]
    ]
    head = table(("status", "count", "oldest", "stale"), statuses)
    nxt = [
        (b["id"], b["name"], f"{b['city']}, {b['region']}", b["priority"], b["attempts"],
         b["created_at"])
        for b in data["next"]
    ]  # fmt: skip
    body = table(("id", "name", "where", "priority", "attempts", "queued at"), nxt)
    return f"{head}\n\nnext up\n{body}"


def status_data(conn: psycopg.Connection[Any]) -> Record:
    return {
        "processes": _rows(
            conn,
            "select process, state, desired_state, worker_count, last_heartbeat_at,"
            " round(heartbeat_age_seconds) as heartbeat_age_seconds, is_stale,"
            " processed_count, error_count, message from public.get_automation_status()",
        ),
        "config": _rows(conn, "select * from public.automation_config")[0],
        "identification": _rows(conn, "select * from public.v_identification_progress")[0],
        "runs": _rows(
            conn,
            "select id, process, status, worker_id, started_at, finished_at, items_processed,"
            " items_failed, error from public.automation_runs order by started_at desc, id desc"
            " limit 8",
        ),
    }


def status_text(data: Record) -> str:
    procs = [
        (p["process"], p["state"], p["desired_state"], p["worker_count"],
         format_age(p["heartbeat_age_seconds"], " ago"), p["is_stale"], p["processed_count"],
         p["error_count"])
        for p in data["processes"]
    ]  # fmt: skip
    headers = ("process", "state", "wanted", "workers", "heartbeat", "stale", "done", "errors")
    cfg = data["config"]
    switches = ", ".join(
        f"{k.removesuffix('_enabled')} {'on' if cfg[k] else 'OFF'}"
        for k in ("identification_enabled", "implementation_enabled", "outreach_enabled")
    )
    ident = data["identification"]
    progress = (
        f"identification: {ident['done']}/{ident['total']} targets done"
        f" ({ident['percent_complete']}%), now at {ident['current_city'] or '-'}"
        f" / {ident['current_category'] or '-'}"
    )
    runs = [
        (r["id"], r["process"], r["status"], r["worker_id"], r["started_at"],
         r["items_processed"], r["error"])
        for r in data["runs"]
    ]  # fmt: skip
    run_table = table(("run", "process", "status", "worker", "started", "items", "error"), runs)
    return "\n".join(
        [table(headers, procs), "", f"config: {switches}; daily deploy limit"
         f" {cfg['daily_deploy_limit']:,}; max attempts {cfg['max_attempts']}", progress, "",
         "latest runs", run_table]
    )  # fmt: skip


def validate_log_filters(process: str | None, level: str | None) -> None:
    if process is not None and process not in PROCESSES:
        raise ValueError(f"--process must be one of {', '.join(PROCESSES)}")
    if level is not None and level not in LEVELS:
        raise ValueError(f"--level must be one of {', '.join(LEVELS)}")


def log_rows(
    conn: psycopg.Connection[Any],
    *,
    process: str | None = None,
    level: str | None = None,
    after_id: int = 0,
    limit: int = 50,
) -> list[Record]:
    """Log lines oldest first: the last `limit`, or all newer than `after_id`."""
    validate_log_filters(process, level)
    levels = list(LEVELS[LEVELS.index(level) :]) if level else list(LEVELS)
    rows = _rows(
        conn,
        "select id, created_at, process, level, message, run_id, business_id"
        " from public.automation_logs where id > %s and (%s::text is null or process = %s)"
        " and level = any(%s) order by id desc limit %s",
        (after_id, process, process, levels, limit),
    )
    return rows[::-1]


def log_line(row: Record) -> str:
    at = row["created_at"]
    stamp = format_time(at) if isinstance(at, datetime) else str(at)
    extra = f" [business {row['business_id']}]" if row.get("business_id") else ""
    return f"{stamp}  {row['level'].upper():<7} {row['process']:<14} {row['message']}{extra}"


def follow_logs(
    conn: psycopg.Connection[Any],
    *,
    process: str | None,
    level: str | None,
    limit: int,
    stop: Callable[[], bool] = lambda: False,
    interval: float = 1.0,
) -> Iterator[Record]:
    """The last `limit` lines, then every new one as it lands (polling by id)."""
    last = 0
    first = True
    while not stop():
        rows = log_rows(conn, process=process, level=level, after_id=last,
                        limit=limit if first else 1000)  # fmt: skip
        first = False
        for row in rows:
            last = max(last, row["id"])
            yield row
        if not rows:
            time.sleep(interval)
