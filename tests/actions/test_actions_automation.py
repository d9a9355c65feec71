"""`dashboard.actions.automation`, the one home of the automation commands and config
changes that the overview, the config page and the admin API all call: the fresh-code
rule is applied here, refused input writes nothing, and the audit names the actor."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from dashboard.actions.automation import (
    ActionRefused,
    FreshCodeRefused,
    change_config,
    send_command,
)
from dashboard.auth.actor import Actor
from dashboard.runtime import Runtime

pytestmark = pytest.mark.usefixtures("app_runtime")  # opens the runtime
ACTOR = Actor(id=str(uuid.UUID(int=7)), email="ops@example.com")


class Codes:
    """A `fresh_code` that records what it was asked for and accepts or refuses."""

    def __init__(self, accept: bool = True) -> None:
        self.asked: list[str] = []
        self.accept = accept

    async def __call__(self, what: str) -> None:
        self.asked.append(what)
        if not self.accept:
            raise FreshCodeRefused(f"the code for {what} is wrong")


Rows = list[dict[str, Any]]


async def commands_and_audit(runtime: Runtime) -> tuple[Rows, Rows]:
    commands = (await runtime.api.select("automation_commands")).rows
    audit = (await runtime.api.select("admin_audit_log")).rows
    return commands, audit


async def test_a_safe_command_asks_no_code_and_its_audit_names_the_actor(
    app_runtime: Runtime,
) -> None:
    codes = Codes()
    sent = await send_command(ACTOR, "implementation", "pause", fresh_code=codes)
    assert codes.asked == []
    commands, audit = await commands_and_audit(app_runtime)
    assert [c["id"] for c in commands] == [sent.id]
    assert commands[0]["requested_by"] == ACTOR.email
    assert [(a["action"], str(a["actor_id"]), a["actor_email"]) for a in audit] == [
        ("command_sent", ACTOR.id, ACTOR.email)
    ]


@pytest.mark.parametrize("command", ["stop", "reset_stale"])
async def test_a_dangerous_command_needs_the_code_and_writes_nothing_without_it(
    app_runtime: Runtime, command: str
) -> None:
    refused = Codes(accept=False)
    with pytest.raises(FreshCodeRefused):
        await send_command(ACTOR, "identification", command, fresh_code=refused)
    assert refused.asked == [f"'{command}'"]
    assert await commands_and_audit(app_runtime) == ([], [])
    accepted = Codes()
    await send_command(ACTOR, "identification", command, fresh_code=accepted)
    assert accepted.asked == [f"'{command}'"]
    commands, _ = await commands_and_audit(app_runtime)
    assert [c["command"] for c in commands] == [command]


@pytest.mark.parametrize(
    ("process", "command", "says"),
    [
        ("outreach", "pause", "unknown process 'outreach'"),
        ("implementation", "explode", "unknown command 'explode'"),
    ],
)
async def test_an_unknown_process_or_command_is_refused_before_anything(
    app_runtime: Runtime, process: str, command: str, says: str
) -> None:
    codes = Codes()
    with pytest.raises(ActionRefused, match=says) as refused:
        await send_command(ACTOR, process, command, fresh_code=codes)
    assert refused.value.invalid_input and codes.asked == []
    assert await commands_and_audit(app_runtime) == ([], [])


async def test_turning_a_process_off_needs_the_code_and_the_audit_has_before_and_after(
    app_runtime: Runtime,
) -> None:
    codes = Codes()
    config = await change_config(
        ACTOR, {"outreach_enabled": False, "batch_size": 12}, fresh_code=codes
    )
    assert codes.asked == ["turning off outreach_enabled"]
    assert config.outreach_enabled is False and config.batch_size == 12
    [entry] = (await app_runtime.api.select("admin_audit_log")).rows
    assert (entry["action"], str(entry["actor_id"]), entry["actor_email"]) == (
        "config_updated",
        ACTOR.id,
        ACTOR.email,
    )
    assert entry["details"]["before"] == {"outreach_enabled": True, "batch_size": 10}
    assert entry["details"]["after"] == {"outreach_enabled": False, "batch_size": 12}


async def test_a_config_change_the_database_refuses_is_said_and_changes_nothing(
    app_runtime: Runtime,
) -> None:
    codes = Codes()
    with pytest.raises(ActionRefused, match="batch_size") as refused:
        await change_config(ACTOR, {"batch_size": 0}, fresh_code=codes)
    assert refused.value.invalid_input and codes.asked == []
    with pytest.raises(ActionRefused, match="nothing to change"):
        await change_config(ACTOR, {}, fresh_code=codes)
    config = (await app_runtime.api.select("automation_config")).rows[0]
    assert config["batch_size"] == 10
    assert (await app_runtime.api.select("admin_audit_log")).rows == []
