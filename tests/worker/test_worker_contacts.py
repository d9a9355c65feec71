"""The contact step: email validation, the demo provider, Hunter.io against a local server
speaking its documented shapes, the chain's reasons, and the step inside identification."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from dashboard.backends.postgres import PostgresBackend
from dashboard.contacts.email_check import InvalidEmail, check_email
from dashboard.data.automation import get_automation_config
from dashboard.data.models import IdentificationTarget
from dashboard.worker.contacts import ContactChain, DemoContactFinder, SourceEmail
from dashboard.worker.hunter import HunterContactFinder
from dashboard.worker.identification import IdentificationStep, Leadership
from dashboard.worker.loop import ProcessLoop
from dashboard.worker.ports import ContactResult, FoundBusiness, ProviderError
from tests.dbutil import sql
from tests.factories import seed_targets
from tests.local_http import Answer, Seen, local_api
from tests.worker_support import make_ctx

TARGET = IdentificationTarget(
    id=1, position=1, city="Clifton", region="NJ", category="bakery", status="in_progress",
    created_at=datetime.now(UTC),
)  # fmt: skip
ROSSI = FoundBusiness(place_id="ChIJrossi", name="Rossi Bakery")

# Hunter.io Domain Search (GET /v2/domain-search), as its API reference documents it.
HUNTER_FOUND = {
    "data": {
        "domain": "rossibakery.com", "disposable": False, "webmail": False,
        "accept_all": False, "pattern": "{first}", "organization": "Rossi Bakery",
        "emails": [
            {"value": "orders@rossibakery.com", "type": "personal", "confidence": 94,
             "position": "Sales", "seniority": "junior", "verification": {"status": "valid"}},
            {"value": "maria@rossibakery.com", "type": "personal", "confidence": 81,
             "first_name": "Maria", "last_name": "Rossi", "position": "Owner",
             "seniority": "executive", "verification": {"status": "valid"}},
            {"value": "gone@rossibakery.com", "type": "personal", "confidence": 99,
             "position": "Founder", "verification": {"status": "invalid"}},
        ],
    },
    "meta": {"results": 3, "limit": 10, "offset": 0, "params": {"company": "Rossi Bakery"}},
}  # fmt: skip
HUNTER_EMPTY = {"data": {"domain": None, "emails": []}, "meta": {"results": 0}}


def hunter_error(code: int, id_: str, details: str) -> dict[str, object]:
    return {"errors": [{"id": id_, "code": code, "details": details}]}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(" Maria@RossiBakery.COM ", "Maria@rossibakery.com"), ("o'brien+site@mail.example.com",
      "o'brien+site@mail.example.com"), ("owner@xn--bcher-kva.de", "owner@xn--bcher-kva.de")],
)  # fmt: skip
def test_a_good_address_is_normalised(raw: str, expected: str) -> None:
    assert check_email(raw).address == expected


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("", "empty"), ("maria", "one address"), ("a@b@c.com", "one address"),
        ("maria@rossi", "top-level"), ("ma ria@rossi.com", "mailbox"), (".m@rossi.com", "mailbox"),
        ("m@rossi..com", "host name"), ("m@-rossi.com", "host name"), ("m@rossi.c0m", "top-level"),
        ("m@[127.0.0.1]", "IP address"), ("m@10.0.0.1", "IP address"),
        ("m@shop.invalid", "never receives"), ("m@printer.local", "never receives"),
        ("m@gmial.com", "did you mean gmail.com"), ("x" * 65 + "@rossi.com", "mailbox"),
    ],
)  # fmt: skip
def test_a_bad_address_is_refused_with_a_reason(raw: str, why: str) -> None:
    with pytest.raises(InvalidEmail, match=why):
        check_email(raw)


async def test_the_demo_provider_gives_most_an_address_and_the_rest_a_reason_every_time() -> None:
    demo = DemoContactFinder()
    businesses = [FoundBusiness(place_id=f"demo-{i}", name=f"Shop {i}") for i in range(400)]
    first = [await demo.find_contact(b, TARGET) for b in businesses]
    again = [await demo.find_contact(b, TARGET) for b in businesses]
    assert first == again
    with_email = [r for r in first if r.email]
    assert 0.84 <= len(with_email) / len(first) <= 0.96
    assert all(r.source == "demo" and check_email(r.email or "") for r in with_email)
    assert all(r.reason and r.reason.startswith("demo: ") for r in first if not r.email)


async def test_the_source_email_wins_and_a_bad_one_falls_through_with_its_reason() -> None:
    chain = ContactChain([SourceEmail(), DemoContactFinder()])
    listed = FoundBusiness(place_id="demo-1", name="Listed", email="Owner@Listed.com")
    assert await chain.find_contact(listed, TARGET) == ContactResult("Owner@listed.com", "finder")
    broken = FoundBusiness(place_id="demo-1", name="Listed", email="owner@listed.invalid")
    result = await chain.find_contact(broken, TARGET)
    assert result.source == "demo"

    class Down:
        name = "down"

        async def find_contact(self, b: FoundBusiness, t: IdentificationTarget) -> ContactResult:
            raise ProviderError("down", "rate limited (429)")

    nothing = await ContactChain([SourceEmail(), Down()]).find_contact(broken, TARGET)
    assert nothing.email is None and nothing.reason is not None
    assert "unusable address" in nothing.reason and "never receives mail" in nothing.reason
    assert "lookup failed: down: rate limited (429)" in nothing.reason


async def test_hunter_sends_the_company_and_key_and_picks_the_owner() -> None:
    with local_api(lambda _: Answer(200, HUNTER_FOUND)) as api:
        hunter = HunterContactFinder("hk_test_123", api_base=api.base)
        result = await hunter.find_contact(ROSSI, TARGET)
    assert result == ContactResult("maria@rossibakery.com", "hunter")
    [call] = api.seen
    assert call.method == "GET" and call.path == "/v2/domain-search"
    assert call.query["company"] == ["Rossi Bakery"] and call.query["type"] == ["personal"]
    assert call.headers["x-api-key"] == "hk_test_123"
    assert "api_key" not in call.query  # the key never sits in a URL


async def test_hunter_with_no_usable_address_says_so() -> None:
    low = {"data": {"emails": [{"value": "x@rossi.com", "confidence": 20}]}, "meta": {}}
    with local_api(lambda _: Answer(200, HUNTER_EMPTY)) as api:
        hunter = HunterContactFinder("hk", api_base=api.base)
        empty = await hunter.find_contact(ROSSI, TARGET)
        api.answer = lambda _: Answer(200, low)
        weak = await hunter.find_contact(ROSSI, TARGET)
    assert (
        empty.email is None
        and empty.reason == "Hunter.io knows no owner address for 'Rossi Bakery'"
    )
    assert weak.email is None and weak.reason is not None and "below confidence 50" in weak.reason


@pytest.mark.parametrize(
    ("answer", "message", "retryable"),
    [
        (Answer(429, hunter_error(429, "too_many_requests", "You have reached the rate limit")),
         "rate limit or quota reached (429): You have reached the rate limit", True),
        (Answer(401, hunter_error(401, "authentication_failed", "No user found for the API key")),
         "refused the key (401)", False),
        (Answer(400, hunter_error(400, "wrong_params", "You are missing the company parameter")),
         "refused the request (400): You are missing the company parameter", False),
        (Answer(503, b"<html>Service Unavailable</html>"), "failed (503)", True),
        (Answer(200, b"not json"), "not JSON", True),
        (Answer(200, {"data": {}}), "no data.emails list", True),
    ],
)  # fmt: skip
async def test_hunter_errors_become_provider_errors(
    answer: Answer, message: str, retryable: bool
) -> None:
    with local_api(lambda _: answer) as api:
        hunter = HunterContactFinder("hk", api_base=api.base)
        with pytest.raises(ProviderError, match=re.escape(message)) as caught:
            await hunter.find_contact(ROSSI, TARGET)
    assert caught.value.retryable is retryable


async def test_a_hunter_timeout_is_a_retryable_provider_error() -> None:
    def slow(_: Seen) -> Answer:
        return Answer(200, HUNTER_FOUND, delay=1.0)

    with local_api(slow) as api:
        hunter = HunterContactFinder("hk", api_base=api.base, timeout=0.2)
        with pytest.raises(ProviderError, match="did not answer in time") as caught:
            await hunter.find_contact(ROSSI, TARGET)
    assert caught.value.retryable


async def test_every_business_identification_queues_has_an_email_or_a_reason(
    backend: PostgresBackend, db_url: str
) -> None:
    seed_targets(db_url, *[("Clifton", "NJ", c) for c in ("bakery", "plumber", "florist")])
    loop = ProcessLoop(make_ctx(backend), "identification", IdentificationStep(Leadership(db_url)))
    for _ in range(3):
        assert await loop.step(loop, await get_automation_config(backend)) == "done"
    await loop.close_run("succeeded")
    rows = sql(db_url, "select email, email_source, email_missing_reason, priority"
               " from public.pipeline_businesses")  # fmt: skip
    assert len(rows) >= 10
    for row in rows:
        if row["email"]:
            assert row["email_source"] == "demo" and row["email_missing_reason"] is None
            assert row["priority"] == 20  # built first: its site can be offered at once
            check_email(row["email"])
        else:
            assert row["email_source"] is None and row["email_missing_reason"]
            assert row["priority"] == 0
    logs = sql(db_url, "select metadata from public.automation_logs where process ="
               " 'identification' and level = 'info'")  # fmt: skip
    assert sum(log["metadata"]["with_email"] for log in logs) == sum(1 for r in rows if r["email"])


def test_the_reason_for_no_email_is_in_the_why_text_and_the_timeline(db_url: str) -> None:
    import psycopg

    from dashboard.components.timeline import business_events
    from dashboard.ops.why import explain_business

    sql(db_url, "insert into public.pipeline_businesses (place_id, name, category, city, region,"
        " email_missing_reason) values ('nomail-1', 'Quiet Bakery', 'bakery', 'Clifton', 'NJ',"
        " 'demo: the listing gives a phone number only')")  # fmt: skip
    with psycopg.connect(db_url, autocommit=True) as conn:
        why = explain_business(conn, "nomail-1").text
    assert "no owner email: demo: the listing gives a phone number only" in why
    row = sql(db_url, "select * from public.pipeline_businesses")[0]
    [contact] = [e for e in business_events(row, None, [], [], []) if e.kind == "contact"]
    assert contact.title == "No owner email"
    assert contact.detail == "demo: the listing gives a phone number only"


async def test_identification_waits_while_the_found_backlog_is_full(
    backend: PostgresBackend, db_url: str
) -> None:
    seed_targets(db_url, ("Clifton", "NJ", "bakery"), ("Passaic", "NJ", "bakery"))
    ctx = make_ctx(backend, max_backlog=3)
    loop = ProcessLoop(ctx, "identification", IdentificationStep(Leadership(db_url)))
    assert await loop.step(loop, await get_automation_config(backend)) == "done"
    assert await loop.step(loop, await get_automation_config(backend)) == "empty"
    assert loop.note is not None and "still queued" in loop.note
    sql(db_url, "update public.pipeline_businesses set status = 'deployed'")  # built meanwhile
    assert await loop.step(loop, await get_automation_config(backend)) == "done"
    await loop.close_run("succeeded")
