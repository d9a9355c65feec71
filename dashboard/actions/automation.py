"""The automation actions, for the overview's buttons, the config page and the admin API:

- `send_command(actor, process, command, payload, fresh_code=...)`: one command to the
  workers of a process;
- `change_config(actor, changes, fresh_code=...)`: some of the automation settings.

The rule for which of them needs a fresh authenticator code is written here once:
`stop` and `reset_stale`, and any change that turns a process off. How the code is asked
for differs by entry point (a dialog on a page, a `code` field in the API's body), so the
caller passes `fresh_code(what)`, which gets and checks one and raises `ActionRefused`
when there is none or it is wrong; the action calls it only when the rule asks.
`command_refusal(command, status, stale_started)` says why a command would change
nothing in a process's current state: the overview greys such a button out with it and
asks no code for it.

Each action checks its input, then writes through `dashboard.data.automation`, whose SQL
function audits the change with the actor's id and email (and the config's before and
after) in the same transaction. Bad input is `ActionRefused` and writes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, get_args

from dashboard.auth.actor import Actor
from dashboard.data.automation import send_automation_command, update_automation_config
from dashboard.data.models import (
    AutomationCommand,
    AutomationConfig,
    Command,
    Process,
    ProcessStatus,
)
from dashboard.data.query import BackendError
from dashboard.runtime import get_runtime

PROCESSES: tuple[Process, ...] = get_args(Process)
COMMANDS: tuple[Command, ...] = get_args(Command)
#: Commands that need a fresh authenticator code: they stop work or requeue it.
DANGEROUS_COMMANDS: frozenset[Command] = frozenset({"stop", "reset_stale"})
#: The config switches; turning one off needs a fresh code.
SWITCHES = ("identification_enabled", "implementation_enabled", "outreach_enabled")

#: Gets a fresh code for the action described by its argument and checks it; raises
#: `ActionRefused` when there is none or it is not right.
FreshCode = Callable[[str], Awaitable[None]]


class ActionRefused(Exception):
    """The action was not done; the message says why and what to do (nothing written)."""

    def __init__(self, message: str, *, invalid_input: bool = True) -> None:
        super().__init__(message)
        self.message = message
        #: True for a mistake in the request (the API answers 400), False otherwise (403).
        self.invalid_input = invalid_input


class FreshCodeRefused(ActionRefused):
    """The fresh code was missing or not right."""

    def __init__(self, message: str) -> None:
        super().__init__(message, invalid_input=False)


class ActionCancelled(ActionRefused):
    """The admin cancelled when asked for the code (nothing to tell them)."""

    def __init__(self) -> None:
        super().__init__("cancelled", invalid_input=False)


def command_refusal(command: str, status: ProcessStatus, stale_started: int) -> str | None:
    """Why `command` would change nothing for a process in `status` (with
    `stale_started` started businesses past the stale limit); None when it would act.
    The overview greys such a button out with this reason and asks no code for it."""
    desired = status.desired_state
    if command == "start" and desired != "stopped":
        return f"{status.process.title()} is {desired}, not stopped: nothing to start."
    if command == "pause" and desired != "running":
        return f"{status.process.title()} is {desired}: only a running process can pause."
    if command == "resume" and desired != "paused":
        return f"{status.process.title()} is {desired}, not paused: nothing to resume."
    if command == "stop" and desired == "stopped":
        return f"{status.process.title()} is already stopped."
    if command == "reset_stale" and stale_started == 0:
        return "No started business is past the stale limit: nothing to reset."
    return None


def command_needs_fresh_code(command: str) -> bool:
    return command in DANGEROUS_COMMANDS


def switches_turned_off(changes: Mapping[str, Any]) -> list[str]:
    """The process switches that `changes` turns off (each needs a fresh code)."""
    return [key for key in SWITCHES if changes.get(key) is False]


async def send_command(
    actor: Actor,
    process: str,
    command: str,
    payload: Mapping[str, Any] | None = None,
    *,
    fresh_code: FreshCode,
) -> AutomationCommand:
    """Queue `command` for the workers of `process`, as `actor`."""
    if process not in PROCESSES:
        raise ActionRefused(f"unknown process {process!r}: one of {', '.join(PROCESSES)}")
    if command not in COMMANDS:
        raise ActionRefused(f"unknown command {command!r}: one of {', '.join(COMMANDS)}")
    if command_needs_fresh_code(command):
        await fresh_code(f"'{command}'")
    try:
        return await send_automation_command(
            get_runtime().api, process, command, payload, actor.email, caller=actor.caller()
        )
    except BackendError as exc:
        if exc.is_invalid_input:
            raise ActionRefused(exc.message) from None
        raise


async def change_config(
    actor: Actor, changes: Mapping[str, Any], *, fresh_code: FreshCode
) -> AutomationConfig:
    """Change the automation settings in `changes`, as `actor`; all or nothing."""
    if not changes:
        raise ActionRefused("nothing to change")
    turning_off = switches_turned_off(changes)
    if turning_off:
        await fresh_code(f"turning off {', '.join(turning_off)}")
    try:
        return await update_automation_config(
            get_runtime().api, changes, actor.email, caller=actor.caller()
        )
    except BackendError as exc:
        if exc.is_invalid_input:
            raise ActionRefused(exc.message) from None
        raise
