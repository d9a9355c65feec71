"""Automation control: status, commands, config, heartbeats, runs and logs (RPC 3, 5, 6, 12-17)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from dashboard.backends.base import SERVICE, Backend, Caller
from dashboard.data._rpc import first, integer, many, one
from dashboard.data.models import (
    AutomationCommand,
    AutomationConfig,
    AutomationRun,
    AutomationStatus,
    Command,
    LogLevel,
    LogProcess,
    Process,
    ProcessStatus,
    RunTrigger,
    WorkerState,
)


async def get_automation_status(api: Backend, *, caller: Caller = SERVICE) -> list[ProcessStatus]:
    """Both processes' status rows with heartbeat age and `is_stale` (RPC 3)."""
    return many(ProcessStatus, await api.rpc("get_automation_status", caller=caller))


async def send_automation_command(
    api: Backend,
    process: Process,
    command: Command,
    payload: Mapping[str, Any] | None = None,
    requested_by: str | None = None,
    *,
    caller: Caller,
) -> AutomationCommand:
    """Queue a command for the workers of `process`, set its desired state, audit it (RPC 5).

    `caller` has no default: the audit row's `actor_id` is the caller's `sub`, so every
    entry point says who acts (an admin's `Actor.caller()`, or `SERVICE` for a worker's
    own guard); `requested_by` defaults to the caller's email."""
    params = {
        "p_process": process,
        "p_command": command,
        "p_payload": dict(payload or {}),
        "p_requested_by": requested_by if requested_by is not None else caller.email,
    }
    row = await api.rpc("send_automation_command", params, caller=caller)
    return one(AutomationCommand, row, "send_automation_command")


async def update_automation_config(
    api: Backend, changes: Mapping[str, Any], updated_by: str, *, caller: Caller
) -> AutomationConfig:
    """Change settings; any unknown key or bad value is 22023 and changes nothing (RPC 6).
    `caller` has no default, as for `send_automation_command`: the audit names it."""
    params = {"p_changes": dict(changes), "p_updated_by": updated_by}
    row = await api.rpc("update_automation_config", params, caller=caller)
    return one(AutomationConfig, row, "update_automation_config")


async def get_automation_config(api: Backend, *, caller: Caller = SERVICE) -> AutomationConfig:
    """The one row of settings, read as a table: the config page's form starts from it,
    the worker reads it every tick, outreach and reconciliation read their switches."""
    page = await api.select("automation_config", limit=1, caller=caller)
    if not page.rows:
        raise RuntimeError("automation_config has no row: run `cliftonsites db migrate`")
    return AutomationConfig.model_validate(page.rows[0])


async def claim_next_command(
    api: Backend, process: Process, worker_id: str, *, caller: Caller = SERVICE
) -> AutomationCommand | None:
    """Expire old commands, then take the oldest pending one of `process` (RPC 12)."""
    params = {"p_process": process, "p_worker_id": worker_id}
    return first(AutomationCommand, await api.rpc("claim_next_command", params, caller=caller))


async def complete_automation_command(
    api: Backend,
    command_id: int,
    status: Literal["completed", "failed"],
    result: Any = None,
    *,
    caller: Caller = SERVICE,
) -> AutomationCommand:
    """Close a `processing` command as completed or failed (RPC 13)."""
    params = {"p_command_id": command_id, "p_status": status, "p_result": result}
    row = await api.rpc("complete_automation_command", params, caller=caller)
    return one(AutomationCommand, row, "complete_automation_command")


async def report_automation_heartbeat(
    api: Backend,
    process: Process,
    worker_id: str,
    state: WorkerState,
    message: str | None = None,
    current_business_id: int | None = None,
    current_target_id: int | None = None,
    processed_delta: int = 0,
    error_delta: int = 0,
    *,
    caller: Caller = SERVICE,
) -> AutomationStatus:
    """Record one worker's heartbeat; returns the process row with aggregate state (RPC 14)."""
    params = {
        "p_process": process,
        "p_worker_id": worker_id,
        "p_state": state,
        "p_message": message,
        "p_current_business_id": current_business_id,
        "p_current_target_id": current_target_id,
        "p_processed_delta": processed_delta,
        "p_error_delta": error_delta,
    }
    row = await api.rpc("report_automation_heartbeat", params, caller=caller)
    return one(AutomationStatus, row, "report_automation_heartbeat")


async def start_automation_run(
    api: Backend,
    process: Process,
    worker_id: str,
    trigger: RunTrigger = "schedule",
    command_id: int | None = None,
    *,
    caller: Caller = SERVICE,
) -> int:
    """Open a `running` run and return its id (RPC 15)."""
    params = {
        "p_process": process,
        "p_worker_id": worker_id,
        "p_trigger": trigger,
        "p_command_id": command_id,
    }
    value = await api.rpc("start_automation_run", params, caller=caller)
    return integer(value, "start_automation_run")


async def finish_automation_run(
    api: Backend,
    run_id: int,
    status: Literal["succeeded", "failed", "cancelled"],
    items_processed: int = 0,
    items_failed: int = 0,
    error: str | None = None,
    *,
    caller: Caller = SERVICE,
) -> AutomationRun:
    """Close a running run (RPC 16)."""
    params = {
        "p_run_id": run_id,
        "p_status": status,
        "p_items_processed": items_processed,
        "p_items_failed": items_failed,
        "p_error": error,
    }
    row = await api.rpc("finish_automation_run", params, caller=caller)
    return one(AutomationRun, row, "finish_automation_run")


async def log_automation_event(
    api: Backend,
    process: LogProcess,
    level: LogLevel,
    message: str,
    run_id: int | None = None,
    business_id: int | None = None,
    metadata: Mapping[str, Any] | None = None,
    *,
    caller: Caller = SERVICE,
) -> int:
    """Append a log line; returns its id (RPC 17)."""
    params = {
        "p_process": process,
        "p_level": level,
        "p_message": message,
        "p_run_id": run_id,
        "p_business_id": business_id,
        "p_metadata": dict(metadata or {}),
    }
    value = await api.rpc("log_automation_event", params, caller=caller)
    return integer(value, "log_automation_event")
