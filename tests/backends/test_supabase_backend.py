"""The Supabase adapter against constructed PostgREST traffic (httpx.MockTransport).

Each test scripts what PostgREST answers and asserts the exact request the adapter
sent (path, query string, Prefer, apikey and Authorization headers, body) and what
it decoded. No Supabase server is involved; tests/contract/ runs the same calls
against a real project.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from dashboard.backends.base import ANON, Backend, BackendError, Caller, Filter, Order
from dashboard.backends.supabase import SupabaseBackend
from dashboard.data.queue import claim_next_business, reset_stale_started_businesses
from dashboard.settings import Settings, SettingsError

URL = "https://abcd.supabase.co"
ADMIN = Caller(role="authenticated", sub="0b7c-admin", email="a@example.com", aal="aal2")

Reply = httpx.Response | Callable[[httpx.Request], httpx.Response]


@dataclass
class FakePostgrest:
    """Answers as PostgREST does, from a script keyed by (method, path)."""

    replies: dict[tuple[str, str], Reply] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)

    def on(self, method: str, path: str, reply: Reply) -> None:
        self.replies[(method, path)] = reply

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        reply = self.replies.get((request.method, request.url.path))
        if reply is None:
            return httpx.Response(
                404, json={"code": "PGRST205", "message": f"no route {request.url.path}"}
            )
        return reply(request) if callable(reply) else reply

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]


def query(request: httpx.Request) -> list[tuple[str, str]]:
    return parse_qsl(request.url.query.decode(), keep_blank_values=True)


def body(request: httpx.Request) -> Any:
    return json.loads(request.content)


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "supabase_url": URL,
        "supabase_anon_key": "anon-key",
        "supabase_service_role_key": "service-key",
        "database_url": None,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def fake() -> FakePostgrest:
    return FakePostgrest()


@pytest.fixture
async def api(fake: FakePostgrest) -> AsyncIterator[SupabaseBackend]:
    http = httpx.AsyncClient(transport=httpx.MockTransport(fake))
    backend = await SupabaseBackend.connect(settings(), http=http)
    yield backend
    await backend.close()


def test_it_satisfies_the_backend_protocol(api: SupabaseBackend) -> None:
    assert isinstance(api, Backend)


async def test_it_calls_a_set_returning_function_as_the_service_role(
    api: SupabaseBackend, fake: FakePostgrest
) -> None:
    row = {"id": 7, "place_id": "p7", "name": "Bakery", "status": "started", "attempts": 1}
    fake.on("POST", "/rest/v1/rpc/claim_next_business", httpx.Response(200, json=[row]))
    assert await api.rpc("claim_next_business", {"p_worker_id": "w1"}) == [row]
    sent = fake.last
    assert sent.method == "POST"
    assert str(sent.url) == f"{URL}/rest/v1/rpc/claim_next_business"
    assert body(sent) == {"p_worker_id": "w1"}
    assert sent.headers["apikey"] == "service-key"
    assert sent.headers["authorization"] == "Bearer service-key"
    assert sent.headers["content-profile"] == "public"


async def test_it_returns_an_empty_list_when_a_set_returning_function_finds_nothing(
    api: SupabaseBackend, fake: FakePostgrest
) -> None:
    fake.on("POST", "/rest/v1/rpc/claim_next_business", httpx.Response(200, json=[]))
    assert await claim_next_business(api, "w1") is None


async def test_it_returns_a_composite_as_a_dict_and_an_all_null_composite_as_none(
    api: SupabaseBackend, fake: FakePostgrest
) -> None:
    fake.on("POST", "/rest/v1/rpc/some_row", httpx.Response(200, json={"id": 3, "x": None}))
    fake.on("POST", "/rest/v1/rpc/no_row", httpx.Response(200, json={"id": None, "x": None}))
    assert await api.rpc("some_row") == {"id": 3, "x": None}
    assert await api.rpc("no_row") is None
    assert body(fake.last) == {}


async def test_it_returns_a_scalar_as_its_value(api: SupabaseBackend, fake: FakePostgrest) -> None:
    fake.on("POST", "/rest/v1/rpc/reset_stale_started_businesses", httpx.Response(200, json=4))
    assert await reset_stale_started_businesses(api, 30) == 4
    assert body(fake.last) == {"p_stale_after_minutes": 30}


async def test_it_sends_decimals_dates_and_nested_json_as_postgrest_expects(
    api: SupabaseBackend, fake: FakePostgrest
) -> None:
    null = httpx.Response(200, content=b"null", headers={"Content-Type": "application/json"})
    fake.on("POST", "/rest/v1/rpc/f", null)
    when = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    params = {"p_amount": Decimal("12.50"), "p_at": when, "p_payload": {"k": [1, Decimal(2)]}}
    assert await api.rpc("f", params) is None
    assert body(fake.last) == {
        "p_amount": "12.50",
        "p_at": "2026-11-25T12:00:00+00:00",
        "p_payload": {"k": [1, "2"]},
    }


async def test_it_selects_with_filters_order_limit_and_an_exact_count(
    api: SupabaseBackend, fake: FakePostgrest
) -> None:
    rows = [{"id": 2, "level": "error"}, {"id": 1, "level": "error"}]
    reply = httpx.Response(200, json=rows, headers={"Content-Range": "0-1/42"})
    fake.on("GET", "/rest/v1/automation_logs", reply)
    page = await api.select(
        "automation_logs",
        columns="id, level",
        filters=[Filter("level", "eq", "error"), Filter("id", "lt", 100)],
        order=[Order("id", desc=True)],
        limit=2,
        count=True,
    )
    assert page.rows == rows
    assert page.count == 42
    assert query(fake.last) == [
        ("select", "id,level"),
        ("level", "eq.error"),
        ("id", "lt.100"),
        ("order", "id.desc"),
        ("limit", "2"),
    ]
    assert fake.last.headers["prefer"] == "count=exact"


async def test_it_leaves_the_count_empty_unless_asked(
    api: SupabaseBackend, fake: FakePostgrest
) -> None:
    fake.on("GET", "/rest/v1/t", httpx.Response(200, json=[], headers={"Content-Range": "*/0"}))
    page = await api.select("t")
    assert page.count is None
    assert "prefer" not in fake.last.headers
    assert query(fake.last) == [("select", "*")]


async def test_it_encodes_in_is_ilike_and_dates_in_postgrest_syntax(
    api: SupabaseBackend, fake: FakePostgrest
) -> None:
    fake.on("GET", "/rest/v1/pipeline_businesses", httpx.Response(200, json=[]))
    since = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    filters = [
        Filter("status", "in", ["queued", "started"]),
        Filter("claimed_by", "is", None),
        Filter("name", "ilike", "%bake%"),
        Filter("created_at", "gte", since),
        Filter("priority", "neq", 0),
    ]
    await api.select("pipeline_businesses", filters=filters)
    assert query(fake.last)[1:] == [
        ("status", "in.(queued,started)"),
        ("claimed_by", "is.null"),
        ("name", "ilike.%bake%"),
        ("created_at", "gte.2026-01-02T03:04:05+00:00"),
        ("priority", "neq.0"),
    ]


async def test_it_refuses_an_is_filter_on_anything_but_null_or_a_boolean(
    api: SupabaseBackend, fake: FakePostgrest
) -> None:
    with pytest.raises(BackendError) as err:
        await api.select("t", filters=[Filter("x", "is", "banana")])
    assert err.value.code == "22023"
    assert fake.requests == []


async def test_it_inserts_rows_and_returns_the_representation(
    api: SupabaseBackend, fake: FakePostgrest
) -> None:
    def created(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, json=[{"id": i + 1, **r} for i, r in enumerate(body(request))])

    fake.on("POST", "/rest/v1/automation_logs", created)
    rows = [
        {"process": "system", "level": "info", "message": "one"},
        {"process": "system", "level": "warning", "message": "two"},
    ]
    out = await api.insert("automation_logs", rows)
    assert [r["id"] for r in out] == [1, 2]
    assert out[1]["message"] == "two"
    sent = fake.last
    assert sent.headers["prefer"] == "return=representation"
    assert body(sent) == rows
    columns = dict(query(sent))["columns"].split(",")
    assert sorted(columns) == ['"level"', '"message"', '"process"']


async def test_it_upserts_with_on_conflict_and_ignores_duplicates_when_asked(
    api: SupabaseBackend, fake: FakePostgrest
) -> None:
    fake.on("POST", "/rest/v1/stripe_events", httpx.Response(201, json=[]))
    out = await api.insert(
        "stripe_events",
        [{"id": "evt_1", "type": "checkout.session.completed"}],
        on_conflict="id",
        ignore_duplicates=True,
    )
    assert out == []
    assert fake.last.headers["prefer"] == "return=representation,resolution=ignore-duplicates"
    assert dict(query(fake.last))["on_conflict"] == "id"


async def test_it_refuses_an_insert_whose_rows_have_different_columns(
    api: SupabaseBackend, fake: FakePostgrest
) -> None:
    with pytest.raises(BackendError) as err:
        await api.insert("t", [{"a": 1}, {"b": 2}])
    assert err.value.code == "PGRST102"
    assert fake.requests == []
    assert await api.insert("t", []) == []


async def test_it_updates_with_filters_as_a_patch(
    api: SupabaseBackend, fake: FakePostgrest
) -> None:
    fake.on("PATCH", "/rest/v1/automation_config", httpx.Response(200, json=[{"id": 1}]))
    out = await api.update("automation_config", {"batch_size": 5}, filters=[Filter("id", "eq", 1)])
    assert out == [{"id": 1}]
    assert query(fake.last) == [("id", "eq.1")]
    assert body(fake.last) == {"batch_size": 5}
    assert fake.last.headers["prefer"] == "return=representation"


async def test_it_refuses_an_update_without_a_filter(
    api: SupabaseBackend, fake: FakePostgrest
) -> None:
    with pytest.raises(BackendError) as err:
        await api.update("automation_config", {"batch_size": 5}, filters=[])
    assert err.value.code == "21000"
    assert fake.requests == []


async def test_it_maps_a_postgrest_error_body_to_a_backend_error(
    api: SupabaseBackend, fake: FakePostgrest
) -> None:
    error = {
        "code": "22023",
        "message": "unknown config key: bogus",
        "details": "allowed keys: batch_size, max_attempts",
        "hint": "check the spelling",
    }
    fake.on("POST", "/rest/v1/rpc/update_automation_config", httpx.Response(400, json=error))
    with pytest.raises(BackendError) as err:
        await api.rpc("update_automation_config", {"p_changes": {"bogus": 1}})
    assert (err.value.code, err.value.message) == ("22023", "unknown config key: bogus")
    assert err.value.detail == "allowed keys: batch_size, max_attempts"
    assert err.value.hint == "check the spelling"
    assert err.value.is_invalid_input


async def test_it_maps_a_refused_function_for_anon_to_42501(
    api: SupabaseBackend, fake: FakePostgrest
) -> None:
    error = {
        "code": "42501",
        "message": "permission denied for function get_queue_statistics",
        "details": None,
        "hint": None,
    }
    fake.on("POST", "/rest/v1/rpc/get_queue_statistics", httpx.Response(401, json=error))
    with pytest.raises(BackendError) as err:
        await api.rpc("get_queue_statistics", caller=ANON)
    assert err.value.code == "42501"
    assert err.value.detail is None
    assert fake.last.headers["apikey"] == "anon-key"
    assert fake.last.headers["authorization"] == "Bearer anon-key"


async def test_it_reports_a_non_json_gateway_error_with_its_status(
    api: SupabaseBackend, fake: FakePostgrest
) -> None:
    fake.on("POST", "/rest/v1/rpc/f", httpx.Response(502, text="<html>Bad gateway</html>"))
    with pytest.raises(BackendError) as err:
        await api.rpc("f")
    assert err.value.code == "502"
    assert err.value.detail == "<html>Bad gateway</html>"


async def test_it_reports_an_unreachable_project_as_a_connection_error(
    api: SupabaseBackend, fake: FakePostgrest
) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    fake.on("POST", "/rest/v1/rpc/f", down)
    with pytest.raises(BackendError) as err:
        await api.rpc("f")
    assert err.value.code == "08006"
    assert "abcd.supabase.co" in err.value.message
    assert err.value.hint == "check SUPABASE_URL and the network"


async def test_it_sends_an_authenticated_caller_with_the_admins_access_token(
    api: SupabaseBackend, fake: FakePostgrest
) -> None:
    async def tokens(caller: Caller) -> str | None:
        return {"0b7c-admin": "jwt-of-admin"}.get(caller.sub or "")

    api.use_access_tokens(tokens)
    fake.on("POST", "/rest/v1/rpc/get_automation_status", httpx.Response(200, json=[]))
    assert await api.rpc("get_automation_status", caller=ADMIN) == []
    assert fake.last.headers["apikey"] == "anon-key"
    assert fake.last.headers["authorization"] == "Bearer jwt-of-admin"


async def test_it_refuses_an_authenticated_caller_without_a_token_and_sends_nothing(
    api: SupabaseBackend, fake: FakePostgrest
) -> None:
    with pytest.raises(BackendError) as err:
        await api.rpc("get_automation_status", caller=ADMIN)
    assert err.value.code == "PGRST301"
    assert "sign in again" in (err.value.hint or "")
    assert fake.requests == []


async def test_concurrent_callers_never_share_their_headers(
    api: SupabaseBackend, fake: FakePostgrest
) -> None:
    async def tokens(caller: Caller) -> str | None:
        await asyncio.sleep(0)
        return "jwt-of-admin"

    api.use_access_tokens(tokens)

    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=request.headers["authorization"])

    fake.on("POST", "/rest/v1/rpc/who", echo)
    callers = [ADMIN, ANON, Caller()] * 10
    seen = await asyncio.gather(*(api.rpc("who", caller=c) for c in callers))
    expected = {"authenticated": "jwt-of-admin", "anon": "anon-key", "service_role": "service-key"}
    assert seen == [f"Bearer {expected[c.role]}" for c in callers]


async def test_connect_names_the_missing_variable() -> None:
    with pytest.raises(SettingsError, match="SUPABASE_SERVICE_ROLE_KEY"):
        await SupabaseBackend.connect(settings(supabase_service_role_key=None))
