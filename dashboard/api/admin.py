"""`/api/admin/*`: automation commands and config changes over HTTP, for scripts and
the pages' own forms. Guarded by auth's `require_admin_api` (an AAL2 session cookie,
same origin). Bad input is 400 with a reason and writes nothing; dangerous changes
(stop, reset_stale, turning a process off) need a fresh TOTP `code` in the body.
Both are `dashboard.actions.automation`'s actions (the same the pages call, with the
same fresh-code rule), audited by their SQL functions with the acting admin's id and email.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dashboard.actions.automation import (
    ActionRefused,
    FreshCode,
    FreshCodeRefused,
    change_config,
    send_command,
)
from dashboard.auth import get_auth
from dashboard.auth.access import request_meta, require_admin_api
from dashboard.auth.actor import Actor
from dashboard.auth.provider import AuthError
from dashboard.auth.sessions import AdminSession
from dashboard.data.models import Command, Process
from dashboard.json_body import loads_bounded

router = APIRouter(prefix="/api/admin")
Admin = Annotated[AdminSession, Depends(require_admin_api)]
M = TypeVar("M", bound=BaseModel)


class CommandBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    process: Process
    command: Command
    payload: dict[str, Any] = Field(default_factory=dict)
    code: str | None = None


class ConfigBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    changes: dict[str, Any] = Field(min_length=1)
    code: str | None = None


def _reason(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


async def _body(request: Request, model: type[M]) -> M:
    try:
        raw = loads_bounded(await request.body() or b"null")
    except ValueError as exc:
        raise HTTPException(400, f"the body must be JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise HTTPException(400, "the body must be a JSON object")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise HTTPException(400, _reason(exc)) from None


def _fresh_code(session: AdminSession, request: Request, code: str | None) -> FreshCode:
    """The body's `code`, checked as a fresh authenticator code of the session's admin."""

    async def check(what: str) -> None:
        if not code:
            raise ActionRefused(f"{what} needs a fresh authenticator code in 'code'")
        try:
            await get_auth().step_up(session, code, request_meta(request))
        except AuthError as exc:
            raise FreshCodeRefused(str(exc)) from None

    return check


def _refused(exc: ActionRefused) -> HTTPException:
    return HTTPException(400 if exc.invalid_input else 403, exc.message)


def _actor(session: AdminSession) -> Actor:
    return Actor(id=session.user_id, email=session.email)


@router.post("/automation/command")
async def post_command(request: Request, session: Admin) -> dict[str, Any]:
    body = await _body(request, CommandBody)
    try:
        sent = await send_command(
            _actor(session), body.process, body.command, body.payload,
            fresh_code=_fresh_code(session, request, body.code),
        )  # fmt: skip
    except ActionRefused as exc:
        raise _refused(exc) from None
    return {"command": sent.model_dump(mode="json")}


@router.post("/automation/config")
async def post_config(request: Request, session: Admin) -> dict[str, Any]:
    body = await _body(request, ConfigBody)
    try:
        config = await change_config(
            _actor(session), body.changes, fresh_code=_fresh_code(session, request, body.code)
        )
    except ActionRefused as exc:
        raise _refused(exc) from None
    return {"config": config.model_dump(mode="json")}
