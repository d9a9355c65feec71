"""Fault drills (marked slow, still run by `make test`): the real app as a subprocess
on its own embedded PostgreSQL, and real worker processes, under the faults that
happen in production. What each drill adds to the unit-level tests beside it:

- the listener's connection is killed while new connections are refused, so the
  change made in the gap can only reach a connected admin through the re-fetched
  snapshot (test_live_bus does the reconnect on a bare bus, in-process);
- the database is stopped and started under the running app: /healthz says 503 (never
  500) while it is down, 200 once it is back, and no request fails afterwards;
- workers are SIGKILLed again and again mid-run (test_worker_processes kills one
  worker holding one business): every business is deployed exactly once;
- duplicate Stripe and Smartlead webhooks flood the real server over HTTP at once
  (the payments tests use the in-process ASGI app): one effect each.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest
import stripe

from bench.app_server import AppServer, session_tickets
from bench.socket_clients import PageClient
from dashboard.backends.embedded import start_embedded
from tests.dbutil import create_migrated_database, sql, wait_until
from tests.factories import seed_queued
from tests.worker_support import spawn_worker, stop_all

pytestmark = pytest.mark.slow

WHSEC = "whsec_drill_secret"
SMARTLEAD_SECRET = "smartlead-drill-secret"


class Drill:
    """An embedded server in its own folder, one migrated database, the app on it."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="csdrill"))
        self.folder.chmod(0o755)
        self.admin_url, self.server = start_embedded(self.folder)
        self.url = create_migrated_database(self.admin_url)
        self.app = AppServer(self.url, extra_env={
            "STRIPE_WEBHOOK_SECRET": WHSEC, "SMARTLEAD_WEBHOOK_SECRET": SMARTLEAD_SECRET,
            "INTERNAL_API_SECRET": "drill-internal-secret",
            "OUTREACH_TRIGGER_SECRET": "drill-trigger-secret", "DATA_DIR": str(self.folder),
        })  # fmt: skip

    def stop_database(self) -> None:
        self.server.cleanup()

    def start_database(self) -> None:
        _, self.server = start_embedded(self.folder)

    def close(self) -> None:
        self.app.stop()
        self.server.cleanup()
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="module")
def drill() -> Iterator[Drill]:
    d = Drill()
    try:
        d.app.start()
        d.app.wait_ready("/healthz", 60)
        yield d
    finally:
        d.close()


def queued(url: str) -> int:
    return int(sql(url, "select count(*) as n from public.pipeline_businesses"
                        " where status = 'queued'")[0]["n"])  # fmt: skip


async def test_a_killed_listener_is_live_within_5_s_and_shows_a_change_made_in_the_gap(
    drill: Drill,
) -> None:
    seed_queued(drill.url, 3, prefix="gap")
    client = PageClient(drill.app.base, (await session_tickets(drill.url, 1))[0])
    await client.open()
    db = psycopg.connect(drill.url, autocommit=True)  # opened before the door closes
    door = psycopg.connect(drill.admin_url, autocommit=True)
    try:
        client.expect(f"{queued(drill.url) + 1:,}")
        name = urlsplit(drill.url).path.lstrip("/")
        door.execute(f'alter database "{name}" with allow_connections false')
        killed = db.execute("select pg_terminate_backend(pid) from pg_stat_activity"
                            " where datname = current_database()"
                            " and application_name = 'cliftonsites-live'").fetchall()  # fmt: skip
        assert killed, "no LISTEN connection found to kill"
        db.execute("insert into public.pipeline_businesses (place_id, name, category, city,"
                   " region) values ('gap-change', 'Gap', 'plumber', 'Clifton', 'NJ')")  # fmt: skip
        await asyncio.sleep(1.0)  # its notice went to nobody: the listener is down
        assert client.arrived_at is None
        reopened = time.time()
        door.execute(f'alter database "{name}" with allow_connections true')
        deadline = time.monotonic() + 5
        while client.arrived_at is None and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert client.arrived_at is not None, "the gap's change never reached the page in 5 s"
        assert client.arrived_at - reopened < 5
        assert httpx.get(drill.app.base + "/healthz").json()["realtime"] == "connected"
    finally:
        door.execute(f'alter database "{urlsplit(drill.url).path.lstrip("/")}"'
                     " with allow_connections true")  # fmt: skip
        door.close()
        db.close()
        await client.close()


def probe(url: str, cookies: dict[str, str], timeout: float = 3.0) -> int | str:
    try:
        return httpx.get(url, cookies=cookies, timeout=timeout).status_code
    except httpx.TimeoutException:
        return "timeout"


def test_healthz_answers_503_within_5_s_while_the_database_is_down(drill: Drill) -> None:
    drill.stop_database()
    try:
        began = time.monotonic()
        status = probe(drill.app.base + "/healthz", {}, timeout=5.0)
        assert status == 503 and time.monotonic() - began < 5
    finally:
        drill.start_database()
        wait_until(lambda: probe(drill.app.base + "/healthz", {}, 15) == 200, 30)


def statuses(base: str, cookies: dict[str, str], paths: list[str]) -> list[int]:
    with httpx.Client(base_url=base, cookies=cookies, timeout=15, follow_redirects=True) as http:
        return [http.get(p).status_code for p in paths]


async def test_a_database_restart_under_the_running_app_is_survived_with_no_500_left(
    drill: Drill,
) -> None:
    client = PageClient(drill.app.base, (await session_tickets(drill.url, 1))[0])
    await client.open()
    await client.close()
    pages = ["/healthz", "/admin/login", "/admin/", "/admin/logs", "/admin/businesses"]
    assert statuses(drill.app.base, client.cookies, pages) == [200, 200, 200, 200, 200]
    drill.stop_database()
    try:
        during = [probe(drill.app.base + p, client.cookies) for p in ("/healthz", "/admin/")]
    finally:
        drill.start_database()
    began = time.monotonic()
    wait_until(lambda: probe(drill.app.base + "/healthz", {}, 15) == 200, 30)
    print(f"database back -> /healthz 200: {time.monotonic() - began:.1f} s")
    after = [s for _ in range(5) for s in statuses(drill.app.base, client.cookies, pages)]
    assert 500 not in after and set(after) == {200}, f"after recovery: {after} (down: {during})"
    assert "Traceback" not in drill.app.log_tail(400).split("Application startup complete")[-1]


async def test_workers_killed_mid_run_again_and_again_lose_nothing_and_build_nothing_twice(
    app_db_url: str, tmp_path: Path
) -> None:
    total = 120
    seed_queued(app_db_url, total, prefix="kill")
    workers = {
        f"k{i}": spawn_worker(
            app_db_url, tmp_path, f"k{i}", "--process", "implementation", "--build-delay", "0.2"
        )
        for i in range(3)
    }
    killed: dict[str, Any] = {}
    try:
        for round_ in range(5):  # kill -9 a worker while it holds a claim; start a fresh one
            victim = wait_until(lambda: next((r["claimed_by"] for r in sql(app_db_url,
                "select claimed_by from public.pipeline_businesses where status = 'started'")
                if r["claimed_by"] in workers), None), 30)  # fmt: skip
            proc = workers.pop(victim)
            proc.send_signal(signal.SIGKILL)
            killed[victim] = proc
            fresh = f"r{round_}"
            workers[fresh] = spawn_worker(app_db_url, tmp_path, fresh, "--process",
                                          "implementation", "--build-delay", "0.2")  # fmt: skip
        for proc in killed.values():
            proc.wait(timeout=10)
        # the killed workers' claims age past the stale window; the rescuer requeues them
        sql(app_db_url, "update public.pipeline_businesses set started_at = now() - interval"
                        " '1 hour' where status = 'started' and claimed_by = any(%s)",
            (list(killed),))  # fmt: skip
        rescuer = spawn_worker(app_db_url, tmp_path, "rescuer", "--process", "implementation",
                               "--stale-reset-seconds", "0.5")  # fmt: skip
        workers["rescuer"] = rescuer
        wait_until(lambda: sql(app_db_url, "select count(*) as n from public.pipeline_businesses"
                               " where status = 'deployed'")[0]["n"] == total, 90)  # fmt: skip
    finally:
        stop_all(*workers.values(), *killed.values())
    rows = sql(app_db_url, "select count(*) as n, count(distinct pipeline_business_id) as d"
                           " from public.qualified_businesses")[0]  # fmt: skip
    assert rows == {"n": total, "d": total}
    deploys = sql(app_db_url, "select business_id, count(*) as n from public.automation_logs"
                  " where message like 'deployed %' group by business_id")  # fmt: skip
    assert len(deploys) == total and all(r["n"] == 1 for r in deploys)
    sites = "select count(distinct uuid) as n from admin_private.site_files"
    assert sql(app_db_url, sites)[0]["n"] == total  # one stored site each, none left over
    retried = sql(app_db_url, "select count(*) as n from public.pipeline_businesses"
                  " where attempts > 1")[0]["n"]  # fmt: skip
    assert retried >= len(killed)  # each kill really left a claim behind, finished by another


def _businesses(url: str, n: int) -> list[str]:
    sql(url, """
        with p as (
          insert into public.pipeline_businesses (place_id, name, category, city, region,
                                                  email, status)
          select 'flood-' || i, 'Flood ' || i, 'bakery', 'Clifton', 'NJ',
                 'owner' || i || '@example.com', 'deployed' from generate_series(0, %s - 1) i
          returning id, place_id, name, email)
        insert into public.qualified_businesses (uuid, pipeline_business_id, place_id, name,
          category, city, region, email, preview_url, outreach_status, outreach_lead_id)
        select 'f' || lpad(substr(place_id, 7), 7, '0'), id, place_id, name, 'bakery',
               'Clifton', 'NJ', email, 'http://127.0.0.1/sites/x', 'started',
               'lead-f' || lpad(substr(place_id, 7), 7, '0')
        from p""", (n,))  # fmt: skip
    return [f"f{i:07d}" for i in range(n)]


def _stripe(uuid: str) -> tuple[bytes, dict[str, str]]:
    event: dict[str, Any] = {
        "id": f"evt_flood_{uuid}", "object": "event", "type": "checkout.session.completed",
        "created": int(time.time()),
        "data": {"object": {
            "id": f"cs_{uuid}", "object": "checkout.session", "client_reference_id": uuid,
            "payment_intent": f"pi_{uuid}", "payment_status": "paid", "customer": f"cus_{uuid}",
            "customer_details": {"email": f"paid-{uuid}@example.com"}}},
    }  # fmt: skip
    body = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(body, WHSEC, int(time.time()))
    return body.encode(), {"Stripe-Signature": header, "Content-Type": "application/json"}


def _smartlead(uuid: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"event_type": "EMAIL_REPLY", "event_id": f"reply-{uuid}",
                       "sl_email_lead_id": f"lead-{uuid}", "cs_uuid": uuid}).encode()  # fmt: skip
    signature = hmac.new(SMARTLEAD_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return body, {"X-Smartlead-Signature": signature, "Content-Type": "application/json"}


async def test_a_flood_of_duplicate_webhooks_over_http_has_one_effect_each(drill: Drill) -> None:
    uuids = _businesses(drill.url, 60)
    copies = 5
    posts = [("/api/stripe-webhook", *_stripe(u)) for u in uuids]
    posts += [("/api/outreach/webhook-events", *_smartlead(u)) for u in uuids]
    flood = posts * copies
    random.Random(3).shuffle(flood)
    limits = httpx.Limits(max_connections=40)
    async with httpx.AsyncClient(base_url=drill.app.base, timeout=60, limits=limits) as http:
        answers = await asyncio.gather(
            *(http.post(path, content=body, headers=headers) for path, body, headers in flood)
        )
    assert {a.status_code for a in answers} == {200}, {a.status_code: a.text for a in answers}

    def one(query: str) -> Any:
        return next(iter(sql(drill.url, query)[0].values()))

    n = len(uuids)
    assert one("select count(*) from public.qualified_businesses where claimed") == n
    assert one("select count(distinct stripe_payment_id) from public.qualified_businesses"
               " where uuid like 'f%'") == n  # fmt: skip
    assert one("select count(*) from public.stripe_events where status = 'processed'") == n
    assert one("select sum(attempts) from public.stripe_events") == n * copies
    assert one("select count(*) from public.automation_logs"
               " where message like 'business % claimed by payment %'") == n  # fmt: skip
    assert one("select count(*) from public.outreach_events where event_type = 'EMAIL_REPLY'") == n
