"""Reconciliation finds each kind of mismatch, and each one-click fix repairs and audits."""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any

import httpx
import psycopg
import pytest
from click.testing import CliRunner

from dashboard.auth.actor import Actor
from dashboard.auth.admins import create_admin
from dashboard.payments import reconcile as reconcile_module
from dashboard.payments import simulate
from dashboard.payments.commands import reconcile
from dashboard.payments.reconcile import fix, list_mismatches
from tests.routes_support import WHSEC, Money, checkout_event

ADMIN = Actor(id="5d6f7c1e-2b3a-4c5d-8e9f-0a1b2c3d4e5f", email="admin@example.com")


async def _kinds(money: Money) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for finding in await list_mismatches(money.runtime.api):
        found.setdefault(finding.kind, []).append(finding.subject)
    return found


async def test_a_consistent_database_has_no_mismatches(money: Money) -> None:
    await money.businesses(2, age_minutes=0)
    assert await list_mismatches(money.runtime.api) == []


async def test_each_mismatch_is_found_and_fixed_with_an_audit_row(money: Money) -> None:
    await money.businesses(4, outreach="started")
    await money.sql("""
        update qualified_businesses set claimed = true, claimed_at = now(),
               stripe_payment_id = 'pi_' || uuid where uuid in ('b0000000', 'b0000001');
        update qualified_businesses set site_status = 'active', outreach_status = 'stopped'
         where uuid = 'b0000001';
        update qualified_businesses set outreach_status = 'pending' where uuid = 'b0000002';
        update qualified_businesses set outreach_status = 'failed', outreach_error = 'boom',
               outreach_attempts = 3 where uuid = 'b0000003';
        update qualified_businesses set site_status = 'deployed' where uuid = 'b0000001';
    """)  # fmt: skip
    await money.sql(
        "insert into stripe_events (id, type, payload, status, error)"
        " values (%s, 'checkout.session.completed', %s, 'failed', 'x')",
        ("evt_checkout_b0000001", json.dumps(checkout_event("b0000001"))),
    )
    found = await _kinds(money)
    assert found == {
        "paid_outreach_running": ["b0000000"],
        "deployed_no_outreach": ["b0000002", "b0000003"],
        "claimed_site_inactive": ["b0000000", "b0000001"],
        "stripe_event_failed": ["evt_checkout_b0000001"],
    }
    for finding in await list_mismatches(money.runtime.api):
        await fix(money.runtime.api, finding, ADMIN, provider=money.provider)
    assert await list_mismatches(money.runtime.api) == []
    assert sorted(money.provider.added) == ["b0000002", "b0000003"]
    audits = await money.sql(
        "select actor_id::text, actor_email, action, target from admin_audit_log order by id"
    )
    assert len(audits) == 6 and {a["action"] for a in audits} == {"reconcile_fix"}
    assert {(a["actor_id"], a["actor_email"]) for a in audits} == {(ADMIN.id, ADMIN.email)}
    assert audits[0]["target"] == "paid_outreach_running:b0000000"


async def test_stripe_simulate_sends_a_payment_the_app_accepts(money: Money, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    [uuid] = await money.businesses(1)
    original = httpx.AsyncClient

    def in_process(*args: object, **kwargs: object) -> httpx.AsyncClient:
        return original(transport=httpx.ASGITransport(app=money.client._transport.app))  # type: ignore[attr-defined]

    monkeypatch.setattr(simulate.httpx, "AsyncClient", in_process)
    event = simulate.checkout_completed(uuid, email="rosa@example.com")
    response = await simulate.send("http://testserver", event, WHSEC)
    assert response.status_code == 200 and response.json()["status"] == "processed"
    row = (
        await money.sql("select claimed, customer_email, site_status from qualified_businesses")
    )[0]
    assert row == {"claimed": True, "customer_email": "rosa@example.com", "site_status": "active"}


def test_stripe_simulate_reads_the_demo_secret_file(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("STRIPE_WEBHOOK_SECRET", raising=False)
    (tmp_path / "secrets.env").write_text("# generated\nSTRIPE_WEBHOOK_SECRET=whsec_demo\n")
    assert simulate.webhook_secret(tmp_path) == "whsec_demo"
    assert simulate.webhook_secret(tmp_path, "whsec_env") == "whsec_env"


def test_the_command_prints_each_mismatch_with_its_time_and_zone(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.factories import deployed

    with psycopg.connect(db_url, autocommit=True) as conn:
        deployed(
            conn, "late0001", outreach_status="failed", outreach_error="boom",
            deployed_at="now() - interval '2 hours'",
        )  # fmt: skip
        [(at,)] = conn.execute(
            "select deployed_at from qualified_businesses where uuid = 'late0001'"
        ).fetchall()
    monkeypatch.setenv("DATABASE_URL", db_url)
    result = CliRunner().invoke(reconcile, [])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if "late0001" in x)
    assert line.endswith(
        f"Biz: deployed, outreach is failed (boom)  (since {at.astimezone(UTC):%F %T} UTC)"
    ), line
    assert "1 mismatches; run with --fix" in result.output


def paid_but_not_live(conn: psycopg.Connection[Any], *codes: str) -> None:
    from tests.factories import deployed

    for code in codes:
        deployed(conn, code, claimed=True, claimed_at="now() - interval '1 hour'")


def test_fix_reads_again_until_every_mismatch_past_the_first_page_is_fixed(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reconcile_module, "LIMIT", 2)
    with psycopg.connect(db_url, autocommit=True) as conn:
        paid_but_not_live(conn, "paid0001", "paid0002", "paid0003")
    monkeypatch.setenv("DATABASE_URL", db_url)
    listed = CliRunner().invoke(reconcile, [])
    assert listed.exit_code == 0, listed.output
    assert listed.output.count("Claimed, but the site is not active: paid") == 2
    assert "Claimed, but the site is not active: more than 2; only the oldest 2" in listed.output
    admin_id = create_admin(db_url, "fixer@example.com", "a long and correct passphrase")
    fixed = CliRunner().invoke(reconcile, ["--fix", "--as", "Fixer@Example.com"])
    assert fixed.exit_code == 0, fixed.output
    assert fixed.output.count("-> Activate site: done for ") == 3
    assert "more than" not in fixed.output
    with psycopg.connect(db_url) as conn:
        states = conn.execute("select distinct site_status from qualified_businesses").fetchall()
    assert states == [("active",)]
    with psycopg.connect(db_url) as conn:
        actors = conn.execute(
            "select distinct actor_id::text, actor_email from admin_audit_log"
            " where action = 'reconcile_fix'"
        ).fetchall()
    assert actors == [(admin_id, "fixer@example.com")]


def test_fix_from_the_command_line_names_an_existing_admin(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        paid_but_not_live(conn, "paid0001")
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.delenv("CLIFTONSITES_ADMIN", raising=False)
    anonymous = CliRunner().invoke(reconcile, ["--fix"])
    assert anonymous.exit_code == 2 and "--fix needs --as EMAIL" in anonymous.output
    unknown = CliRunner().invoke(reconcile, ["--fix", "--as", "nobody@example.com"])
    assert unknown.exit_code == 1 and "no admin with email nobody@example.com" in unknown.output
    with psycopg.connect(db_url) as conn:
        assert conn.execute("select count(*) from admin_audit_log").fetchone() == (0,)
        live = conn.execute("select site_status from qualified_businesses").fetchall()
    assert live == [("deployed",)]
