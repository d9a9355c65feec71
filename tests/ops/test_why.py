""" "Why" for a business: one row per pipeline, outreach and payment state, each set up
in the real database and explained from the data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from dashboard.cli import cli
from dashboard.ops.why import BusinessNotFound, explain_business
from tests.factories import Conn, business, deployed


def queued_behind_two(conn: Conn) -> str:
    business(conn, "a1", created_at="now() - interval '2 hours'")
    business(conn, "a2", created_at="now() - interval '1 hour'")
    business(conn, "a3")
    conn.execute("update automation_status set state = 'offline', last_heartbeat_at = null")
    return "a3"


def paused_by_admin(conn: Conn) -> str:
    conn.execute(
        "insert into automation_commands (process, command, requested_by, status)"
        " values ('implementation', 'pause', 'admin@example.com', 'completed')"
    )
    conn.execute(
        "update automation_status set desired_state = 'paused' where process = 'implementation'"
    )
    business(conn, "b1")
    return "b1"


def config(change: str, then: Callable[[Conn], str]) -> Callable[[Conn], str]:
    def setup(conn: Conn) -> str:
        conn.execute(f"update automation_config set {change}")
        return then(conn)

    return setup


def claimed(site: str, error: str | None = None) -> Callable[[Conn], str]:
    def setup(conn: Conn) -> str:
        return deployed(
            conn, "cl000001", claimed=True, claimed_at="now()", stripe_payment_id="pi_1",
            customer_email="owner@example.com", site_status=site, outreach_status="stopped",
            activated_at="now()" if site == "active" else None, activation_error=error,
        )  # fmt: skip

    return setup


def outreach(status: str, **cols: Any) -> Callable[[Conn], str]:
    return lambda conn: deployed(conn, "ou000001", outreach_status=status, **cols)


def failed_payment(conn: Conn) -> str:
    code = deployed(conn, "pay00001", outreach_status="started")
    conn.execute(
        "insert into stripe_events (id, type, payload, status, error, qualified_business_id)"
        " select 'evt_1', 'checkout.session.completed', '{}', 'failed', 'card declined', id"
        " from qualified_businesses where uuid = %s",
        (code,),
    )
    return code


CASES: dict[str, tuple[Callable[[Conn], str], str]] = {
    "queued behind others, no worker": (queued_behind_two, "queued, 2 ahead of it"),
    "queued without a worker": (queued_behind_two, "no implementation worker is running"),
    "queued while paused": (paused_by_admin, "implementation paused since"),
    "paused by whom": (paused_by_admin, "by admin@example.com"),
    "queued, implementation disabled": (
        config("implementation_enabled = false", lambda c: str(business(c, "c1") and "c1")),
        "implementation is disabled in config",
    ),
    "queued, daily limit reached": (
        config("daily_deploy_limit = 0", lambda c: str(business(c, "d1") and "d1")),
        "today's deploy limit of 0 is reached",
    ),
    "queued, retried": (
        lambda c: str(business(c, "e1", attempts=1, last_error="boom") and "e1"),
        "attempt 1 of 3 failed before: boom",
    ),
    "started": (
        lambda c: str(
            business(c, "f1", "started", claimed_by="w1", started_at="now()", attempts=1) and "f1"
        ),
        "being built by w1 since",
    ),
    "started and stale": (
        lambda c: str(
            business(
                c,
                "g1",
                "started",
                claimed_by="w1",
                attempts=1,
                started_at="now() - interval '2 hours'",
            )
            and "g1"
        ),
        "stale: claimed 2h 00m ago, past the 15-minute limit;"
        " reset_stale_started_businesses will requeue it",
    ),
    "failed": (
        lambda c: str(
            business(
                c, "h1", "failed", attempts=3, last_error="deploy timed out", finished_at="now()"
            )
            and "h1"
        ),
        "failed after 3 attempt(s) at",
    ),
    "skipped": (
        lambda c: str(
            business(c, "i1", "skipped", last_error="has a website", finished_at="now()") and "i1"
        ),
        ": has a website",
    ),
    "outreach pending, disabled in config": (
        config("outreach_enabled = false", outreach("pending")),
        "outreach pending: outreach is disabled in config",
    ),
    "outreach pending too long": (
        outreach("pending", deployed_at="now() - interval '1 hour'"),
        "waiting for the trigger or sweeper (over 15 min",
    ),
    "outreach starting": (outreach("starting"), "outreach starting since"),
    "outreach started": (
        outreach("started", outreach_campaign_id="cmp_9", outreach_started_at="now()"),
        "in campaign cmp_9",
    ),
    "outreach replied": (outreach("replied", outreach_last_event_at="now()"), "replied at"),
    "outreach bounced": (outreach("bounced"), "outreach ended: the email bounced"),
    "outreach unsubscribed": (outreach("unsubscribed"), "the owner unsubscribed"),
    "outreach failed": (
        outreach("failed", outreach_attempts=2, outreach_error="smartlead: 429"),
        "outreach failed after 2 attempt(s): smartlead: 429",
    ),
    "outreach stopped": (outreach("stopped"), "outreach stopped at"),
    "outreach skipped": (outreach("skipped"), "outreach skipped (no email address)"),
    "site suspended": (outreach("started", site_status="suspended"), "site suspended"),
    "claimed and active": (claimed("active"), "by owner@example.com, site active since"),
    "claimed, activation failed": (
        claimed("deployed", "activate-site: 503"),
        "claimed, but the site is not active: activation failed at",
    ),
    "claimed, activation pending": (claimed("deployed"), "activation has not run yet"),
    "payment event failed": (
        failed_payment,
        "Stripe event evt_1 (checkout.session.completed) failed at",
    ),
}


@pytest.fixture
def conn(db_url: str) -> Any:
    with psycopg.connect(db_url, autocommit=True) as connection:
        connection.execute(
            "update automation_status set state = 'running', last_heartbeat_at = now()"
        )
        yield connection


@pytest.mark.parametrize("case", list(CASES))
def test_it_explains_each_state(conn: Conn, case: str) -> None:
    setup, expected = CASES[case]
    key = setup(conn)
    explanation = explain_business(conn, key)
    assert expected in explanation.text, explanation.text


def test_a_running_worker_with_nothing_ahead_is_next_in_line(conn: Conn) -> None:
    business(conn, "n1")
    explanation = explain_business(conn, "n1")
    assert explanation.summary == "queued, next in line"
    assert "found" in explanation.details[-1] and "Austin, TX (plumber)" in explanation.details[-1]


def test_it_finds_a_business_by_uuid_place_id_or_id(conn: Conn) -> None:
    code = deployed(conn, "ab12cd34", outreach_status="started")
    by_uuid = explain_business(conn, code)
    by_place = explain_business(conn, f"p-{code}")
    row = conn.execute("select id from pipeline_businesses where place_id = %s", (f"p-{code}",))
    by_id = explain_business(conn, str(row.fetchone()[0]))  # type: ignore[index]
    assert by_uuid.text == by_place.text == by_id.text
    assert by_uuid.status == "deployed"


def test_an_unknown_business_is_a_clear_error(conn: Conn) -> None:
    with pytest.raises(BusinessNotFound, match="no business with uuid, place_id or id"):
        explain_business(conn, "zzzzzzzz")


def test_the_command_prints_the_explanation(db_url: str, conn: Conn) -> None:
    business(conn, "cmd1", "failed", attempts=3, last_error="deploy timed out")
    runner = CliRunner()
    result = runner.invoke(cli, ["business", "cmd1", "--database-url", db_url])
    assert result.exit_code == 0, result.output
    assert "failed after 3 attempt(s)" in result.output
    missing = runner.invoke(cli, ["business", "nope", "--database-url", db_url])
    assert missing.exit_code == 1 and "no business with" in missing.output
