"""`/api/admin/*`: automation commands and config changes over HTTP, for scripts and
the pages' own forms. Guarded by auth's `require_admin_api` (an AAL2 session cookie,
same origin). Bad input is 400 with a reason and writes nothing; dangerous changes
(stop, reset_stale, turning a process off) need a fresh TOTP `code` in the body.
Both calls are audited by their SQL functions with the acting admin's id and email.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dashboard.auth import get_auth
from dashboard.auth.access import request_meta, require_admin_api
from dashboard.auth.provider import AuthError
from dashboard.auth.sessions import AdminSession
from dashboard.data.automation import send_automation_command, update_automation_config
from dashboard.data.models import Command, Process
from dashboard.data.query import BackendError, Caller
from dashboard.json_body import loads_bounded
from dashboard.runtime import get_runtime

router = APIRouter(prefix="/api/admin")
Admin = Annotated[AdminSession, Depends(require_admin_api)]
M = TypeVar("M", bound=BaseModel)
DANGEROUS_COMMANDS = frozenset({"stop", "reset_stale"})
SWITCHES = ("identification_enabled", "implementation_enabled", "outreach_enabled")


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


async def _step_up(session: AdminSession, request: Request, code: str | None, what: str) -> None:
    if not code:
        raise HTTPException(400, f"{what} needs a fresh authenticator code in 'code'")
    try:
        await get_auth().step_up(session, code, request_meta(request))
    except AuthError as exc:
        raise HTTPException(403, str(exc)) from None


def _caller(session: AdminSession) -> Caller:
    return Caller(role="service_role", sub=session.user_id, email=session.email)


@router.post("/automation/command")
async def post_command(request: Request, session: Admin) -> dict[str, Any]:
    body = await _body(request, CommandBody)
    if body.command in DANGEROUS_COMMANDS:
        await _step_up(session, request, body.code, f"'{body.command}'")
    try:
        sent = await send_automation_command(
            get_runtime().api, body.process, body.command, body.payload, session.email,
            caller=_caller(session),
        )  # fmt: skip
    except BackendError as exc:
        if exc.is_invalid_input:
            raise HTTPException(400, exc.message) from None
        raise
    return {"command": sent.model_dump(mode="json")}


@router.post("/automation/config")
async def post_config(request: Request, session: Admin) -> dict[str, Any]:
    body = await _body(request, ConfigBody)
    turning_off = [k for k in SWITCHES if body.changes.get(k) is False]
    if turning_off:
        await _step_up(session, request, body.code, f"turning off {', '.join(turning_off)}")
    try:
        config = await update_automation_config(
            get_runtime().api, body.changes, session.email, caller=_caller(session)
        )
    except BackendError as exc:
        if exc.is_invalid_input:
            raise HTTPException(400, exc.message) from None
        raise
    return {"config": config.model_dump(mode="json")}
