"""The admin HTTP API: POST /api/admin/automation/command and /automation/config, and
the streamed CSV export. Real database, real auth service; only the clock is faked."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from dashboard.api import admin, export
from dashboard.data.automation import log_automation_event
from dashboard.runtime import Runtime, close_runtime, open_runtime
from dashboard.settings import load_settings
from tests.admin_session import SignedIn, sign_in_admin
from tests.factories import count_rows

BASE = "http://admin.test"


@pytest.fixture
async def api(
    app_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime, SignedIn]]:
    monkeypatch.setenv("DATABASE_URL", app_db_url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SECRET_KEY", "test-secret-key-" + "x" * 32)
    runtime = await open_runtime(load_settings(), run_migrations=False)
    signed_in = await sign_in_admin(runtime)
    app = FastAPI()
    app.include_router(admin.router)
    app.include_router(export.router)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)
    client.cookies.set("cs_session", signed_in.token)
    yield client, runtime, signed_in
    await client.aclose()
    await close_runtime()


SAME_ORIGIN = {"origin": BASE}


async def test_it_refuses_a_request_without_a_session(api: Any) -> None:
    client, runtime, _ = api
    client.cookies.clear()
    body = {"process": "implementation", "command": "pause"}
    r = await client.post("/api/admin/automation/command", json=body, headers=SAME_ORIGIN)
    assert r.status_code == 401
    assert count_rows(runtime.database_url, "automation_commands") == 0


async def test_it_refuses_an_aal1_session(api: Any) -> None:
    client, runtime, signed_in = api
    handoff = await signed_in.auth.sessions.start(
        user_id=signed_in.user_id,
        email=signed_in.email,
        aal="aal1",
        factor_id=None,
        binding=None,
        next_path="/",
        ip=None,
        user_agent=None,
    )
    token, _, _ = await signed_in.auth.sessions.redeem(handoff.ticket, None)
    client.cookies.set("cs_session", token)
    body = {"process": "implementation", "command": "pause"}
    r = await client.post("/api/admin/automation/command", json=body, headers=SAME_ORIGIN)
    assert r.status_code == 403
    assert "second factor" in r.json()["detail"]
    assert count_rows(runtime.database_url, "automation_commands") == 0


async def test_it_refuses_a_cross_origin_post(api: Any) -> None:
    client, runtime, _ = api
    body = {"process": "implementation", "command": "pause"}
    r = await client.post(
        "/api/admin/automation/command", json=body, headers={"origin": "https://evil.example"}
    )
    assert r.status_code == 403
    assert count_rows(runtime.database_url, "automation_commands") == 0


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "must be JSON"),
        (b"[" * 5000 + b"]" * 5000, "deeper than 64 levels"),
        (b'{"process": ' * 5000 + b"1" + b"}" * 5000, "deeper than 64 levels"),
        (b"[1, 2]", "JSON object"),
        (b'{"process": "billing", "command": "pause"}', "process"),
        (b'{"process": "implementation", "command": "explode"}', "command"),
        (b'{"process": "implementation", "command": "pause", "extra": 1}', "extra"),
        (b'{"process": "implementation", "command": "pause", "payload": [1]}', "payload"),
        (b'{"process": "implementation", "command": "stop"}', "authenticator code"),
    ],
)
async def test_a_bad_command_body_is_400_with_a_reason_and_writes_nothing(
    api: Any, body: bytes, reason: str
) -> None:
    client, runtime, _ = api
    r = await client.post(
        "/api/admin/automation/command",
        content=body,
        headers={**SAME_ORIGIN, "content-type": "application/json"},
    )
    assert r.status_code == 400, r.text
    assert reason in r.json()["detail"]
    assert count_rows(runtime.database_url, "automation_commands") == 0
    assert count_rows(runtime.database_url, "admin_audit_log", action="command_sent") == 0


async def test_a_good_command_is_queued_and_audited_with_the_admin(api: Any) -> None:
    client, runtime, signed_in = api
    body = {"process": "implementation", "command": "pause"}
    r = await client.post("/api/admin/automation/command", json=body, headers=SAME_ORIGIN)
    assert r.status_code == 200, r.text
    assert r.json()["command"]["status"] == "pending"
    audit = (await runtime.api.select("admin_audit_log", filters=[])).rows
    sent = [a for a in audit if a["action"] == "command_sent"]
    assert len(sent) == 1
    assert sent[0]["actor_email"] == signed_in.email
    assert str(sent[0]["actor_id"]) == signed_in.user_id
    assert sent[0]["details"]["command"] == "pause"


async def test_a_stop_needs_a_fresh_code_and_a_used_one_is_refused(api: Any) -> None:
    client, runtime, signed_in = api
    code = signed_in.fresh_code()
    body = {"process": "implementation", "command": "stop", "code": code}
    first = await client.post("/api/admin/automation/command", json=body, headers=SAME_ORIGIN)
    assert first.status_code == 200, first.text
    again = await client.post("/api/admin/automation/command", json=body, headers=SAME_ORIGIN)
    assert again.status_code == 403
    assert count_rows(runtime.database_url, "automation_commands", command="stop") == 1


async def test_a_config_change_is_saved_and_audited_with_before_and_after(api: Any) -> None:
    client, runtime, _ = api
    body = {"changes": {"batch_size": 25}}
    r = await client.post("/api/admin/automation/config", json=body, headers=SAME_ORIGIN)
    assert r.status_code == 200, r.text
    assert r.json()["config"]["batch_size"] == 25
    rows = (await runtime.api.select("admin_audit_log", filters=[])).rows
    change = next(a for a in rows if a["action"] == "config_updated")
    assert change["details"]["before"] == {"batch_size": 10}
    assert change["details"]["after"] == {"batch_size": 25}


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"max_attempts": "three"}, "max_attempts"),
        ({"no_such_setting": 1}, "no_such_setting"),
        ({}, "changes"),
        ({"implementation_enabled": False}, "authenticator code"),
    ],
)
async def test_a_bad_config_change_is_400_and_changes_nothing(
    api: Any, changes: dict[str, Any], reason: str
) -> None:
    client, runtime, _ = api
    r = await client.post(
        "/api/admin/automation/config", json={"changes": changes}, headers=SAME_ORIGIN
    )
    assert r.status_code == 400, r.text
    assert reason in r.json()["detail"]
    config = (await runtime.api.select("automation_config")).rows[0]
    assert config["batch_size"] == 10 and config["implementation_enabled"] is True
    assert count_rows(runtime.database_url, "admin_audit_log", action="config_updated") == 0


async def test_the_logs_export_streams_every_matching_row_in_batches(api: Any) -> None:
    client, runtime, _ = api
    for i in range(2500):
        level = "error" if i % 5 == 0 else "info"
        await log_automation_event(runtime.api, "implementation", level, f"line {i}")
    r = await client.get("/api/admin/export/logs.csv?level=error")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    lines = r.text.strip().splitlines()
    assert lines[0].startswith("id,created_at,process,level,message")
    assert len(lines) == 1 + 500
    assert all(",error," in line for line in lines[1:])


async def test_an_export_neutralises_spreadsheet_formulas(api: Any) -> None:
    client, runtime, _ = api
    await log_automation_event(runtime.api, "system", "info", "=HYPERLINK(1)")
    r = await client.get("/api/admin/export/logs.csv")
    assert "'=HYPERLINK(1)" in r.text


@pytest.mark.parametrize(
    "message", [" =1+4", "\t=1+4", "\r=1+4", "\n=1+4", "\x00=1+4", " \t -2+3", "\u00a0@SUM(A1)",
                "\t", "\r\n", "\uff1dHYPERLINK(1)"]
)  # fmt: skip
async def test_an_export_escapes_formulas_after_leading_whitespace_and_controls(
    api: Any, message: str
) -> None:
    client, runtime, _ = api
    await log_automation_event(runtime.api, "system", "info", message.replace("\x00", "\x01"))
    r = await client.get("/api/admin/export/logs.csv")
    cell = next(iter(csv.DictReader(io.StringIO(r.text))))["message"]
    assert cell.startswith("'"), repr(cell)


async def test_an_export_leaves_ordinary_text_as_it_is(api: Any) -> None:
    client, runtime, _ = api
    await log_automation_event(runtime.api, "system", "info", "  deployed 3 sites = fine")
    r = await client.get("/api/admin/export/logs.csv")
    assert next(iter(csv.DictReader(io.StringIO(r.text))))["message"] == "  deployed 3 sites = fine"


@pytest.mark.parametrize(
    "url",
    [
        "/api/admin/export/logs.csv?q=a%00b",
        "/api/admin/export/businesses.csv?q=%00",
        "/api/admin/export/audit.csv?actor=x%00",
        "/api/admin/export/logs.csv?unknown=%00",
        "/api/admin/export/logs.csv?q=line%0Abreak",
    ],
)
async def test_a_filter_with_a_control_character_is_400_before_the_stream_starts(
    api: Any, url: str
) -> None:
    client, runtime, _ = api
    await log_automation_event(runtime.api, "system", "info", "a line")
    r = await client.get(url)
    assert r.status_code == 400, r.text
    assert "control character" in r.json()["detail"]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("/api/admin/export/logs.csv?level=loud", "level must be one of"),
        ("/api/admin/export/logs.csv?run=abc", "run must be a whole number"),
        ("/api/admin/export/businesses.csv?status=gone", "status must be one of"),
        ("/api/admin/export/secrets.csv", "unknown view"),
    ],
)
async def test_a_bad_export_filter_is_400_with_a_reason(api: Any, url: str, reason: str) -> None:
    client, _, _ = api
    r = await client.get(url)
    assert r.status_code == 400
    assert reason in r.json()["detail"]


async def test_an_export_needs_a_session(api: Any) -> None:
    client, _, _ = api
    client.cookies.clear()
    r = await client.get("/api/admin/export/logs.csv")
    assert r.status_code == 401
