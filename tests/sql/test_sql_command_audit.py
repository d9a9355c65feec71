"""Every command's audit row says what it changed: the process's desired_state (and
pause reason) before and after (migration 20261125004000_audit_command_state.sql)."""

from __future__ import annotations

from typing import Any

import pytest

from dashboard.backends.base import SERVICE, BackendError
from dashboard.backends.postgres import PostgresBackend
from dashboard.data import automation
from tests.factories import ADMIN, audit_rows


def state(desired: str | None, reason: str | None = None) -> dict[str, Any]:
    return {"desired_state": desired, "paused_reason": reason}


async def test_pause_then_resume_audit_the_state_before_and_after(
    backend: PostgresBackend,
) -> None:
    await automation.send_automation_command(
        backend, "implementation", "pause", {"reason": "deploy window"}, "a@x.test", caller=ADMIN
    )
    await automation.send_automation_command(
        backend, "implementation", "resume", {}, "a@x.test", caller=SERVICE
    )
    pause, resume = [r["details"] for r in await audit_rows(backend)]
    assert (pause["before"], pause["after"]) == (state("running"), state("paused", "deploy window"))
    assert (resume["before"], resume["after"]) == (
        state("paused", "deploy window"),
        state("running"),
    )
    assert pause["command"] == "pause" and pause["requested_by"] == "a@x.test"


async def test_a_command_that_leaves_the_state_alone_audits_it_unchanged(
    backend: PostgresBackend,
) -> None:
    await automation.send_automation_command(backend, "identification", "stop", caller=SERVICE)
    await automation.send_automation_command(backend, "identification", "run_once", caller=SERVICE)
    run_once = (await audit_rows(backend))[-1]["details"]
    assert run_once["before"] == run_once["after"] == state("stopped")


async def test_a_refused_command_writes_no_audit_row(backend: PostgresBackend) -> None:
    with pytest.raises(BackendError, match="p_command must be one of"):
        await automation.send_automation_command(
            backend, "identification", "explode", caller=SERVICE
        )
    assert await audit_rows(backend) == []
