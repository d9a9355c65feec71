"""Bad input to every function with parameters: a clear error with its SQLSTATE, and not a
single row written anywhere (compared by a fingerprint of all 12 tables)."""

from __future__ import annotations

from typing import Any

import pytest

from dashboard.backends.base import BackendError
from dashboard.backends.postgres import PostgresBackend

LOST_TOKEN = "00000000-0000-4000-8000-000000000000"
TOKEN = "11111111-1111-4111-8111-111111111111"

SETUP = f"""
insert into public.identification_targets (position, city, region, category)
  values (1, 'Bath', 'England', 'baker');
insert into public.pipeline_businesses (place_id, name, category, city, region, status, attempts,
  claimed_by, claim_token, started_at)
  values ('bad-1', 'Started Ltd', 'baker', 'Bath', 'England', 'started', 1, 'w', '{TOKEN}', now()),
         ('bad-2', 'Deployed Ltd', 'baker', 'Bath', 'England', 'deployed', 1, 'w', null, now());
insert into public.qualified_businesses (uuid, pipeline_business_id, place_id, name, category,
  city, region, preview_url, outreach_status, claimed, claimed_at, stripe_payment_id)
  values ('paid0001', 2, 'bad-2', 'Deployed Ltd', 'baker', 'Bath', 'England', 'u', 'started',
          true, now(), 'pi_first');
insert into public.automation_commands (process, command, status)
  values ('implementation', 'start', 'completed');
insert into public.automation_runs (process, status, finished_at)
  values ('implementation', 'succeeded', now());
"""

CASES: dict[str, list[tuple[dict[str, Any], str, str]]] = {
    "claim_next_business": [
        ({"p_worker_id": ""}, "22023", "p_worker_id"),
        ({"p_worker_id": None}, "22023", "p_worker_id"),
        ({"p_worker_id": "w" * 201}, "22023", "200"),
    ],
    "send_automation_command": [
        ({"p_process": "billing", "p_command": "start"}, "22023", "p_process"),
        ({"p_process": "implementation", "p_command": "explode"}, "22023", "p_command"),
        ({"p_process": "implementation", "p_command": "start", "p_payload": [1]}, "22023",
         "object"),
    ],
    "update_automation_config": [
        ({"p_changes": {"nope": 1}, "p_updated_by": "a@x.io"}, "22023", '"nope"'),
        ({"p_changes": {"batch_size": 5, "nope": 1}, "p_updated_by": "a@x.io"}, "22023", '"nope"'),
        ({"p_changes": {"batch_size": 0}, "p_updated_by": "a@x.io"}, "22023", "between 1 and 1000"),
        ({"p_changes": {"batch_size": "10"}, "p_updated_by": "a@x.io"}, "22023", "integer"),
        ({"p_changes": {"max_attempts": 2.5}, "p_updated_by": "a@x.io"}, "22023", "integer"),
        ({"p_changes": {"outreach_enabled": "yes"}, "p_updated_by": "a@x.io"}, "22023",
         "true or false"),
        ({"p_changes": {"daily_deploy_limit": 10_000_001}, "p_updated_by": "a@x.io"}, "22023",
         "daily_deploy_limit"),
        ({"p_changes": {"bounce_rate_limit": 1.5}, "p_updated_by": "a@x.io"}, "22023", "between 0"),
        ({"p_changes": {}, "p_updated_by": "a@x.io"}, "22023", "non-empty"),
        ({"p_changes": ["batch_size"], "p_updated_by": "a@x.io"}, "22023", "object"),
        ({"p_changes": {"batch_size": 5}, "p_updated_by": ""}, "22023", "p_updated_by"),
    ],
    "advance_identification_position": [
        ({"p_status": "finished"}, "22023", "done or skipped"),
        ({"p_businesses_found": -1}, "22023", "p_businesses_found"),
    ],
    "mark_business_deployed": [
        ({"p_business_id": 999, "p_preview_url": "u", "p_claim_token": TOKEN}, "P0002", "999"),
        ({"p_business_id": 1, "p_preview_url": "u", "p_claim_token": TOKEN, "p_uuid": "ABC"},
         "22023", "8 lowercase"),
        ({"p_business_id": 1, "p_preview_url": " ", "p_claim_token": TOKEN}, "22023", "preview"),
        ({"p_business_id": 1, "p_preview_url": "u", "p_claim_token": None}, "22004", "token"),
        ({"p_business_id": 1, "p_preview_url": "u", "p_claim_token": LOST_TOKEN}, "55000",
         "claim lost"),
    ],
    "reset_stale_started_businesses": [
        ({"p_stale_after_minutes": 0}, "22023", "between 1 and 10080"),
        ({"p_stale_after_minutes": 10081}, "22023", "between 1 and 10080"),
    ],
    "get_existing_businesses_for_target": [
        ({"p_target_id": 999}, "P0002", "999"),
        ({"p_target_id": None}, "22004", "p_target_id"),
    ],
    "mark_business_failed": [
        ({"p_business_id": 1, "p_claim_token": TOKEN, "p_error": " "}, "22023", "p_error"),
        ({"p_business_id": 999, "p_claim_token": TOKEN, "p_error": "x"}, "P0002", "999"),
        ({"p_business_id": 1, "p_claim_token": LOST_TOKEN, "p_error": "x"}, "55000", "claim lost"),
        ({"p_business_id": 1, "p_claim_token": TOKEN, "p_error": "x", "p_release": None}, "22004",
         "p_release"),
    ],
    "claim_next_command": [
        ({"p_process": "billing", "p_worker_id": "w"}, "22023", "p_process"),
        ({"p_process": "implementation", "p_worker_id": ""}, "22023", "p_worker_id"),
    ],
    "complete_automation_command": [
        ({"p_command_id": 1, "p_status": "done"}, "22023", "completed or failed"),
        ({"p_command_id": 999, "p_status": "completed"}, "P0002", "999"),
        ({"p_command_id": 1, "p_status": "completed"}, "55000", "not processing"),
    ],
    "report_automation_heartbeat": [
        ({"p_process": "implementation", "p_worker_id": "w", "p_state": "sleeping"}, "22023",
         "p_state"),
        ({"p_process": "billing", "p_worker_id": "w", "p_state": "idle"}, "22023", "p_process"),
        ({"p_process": "implementation", "p_worker_id": "w", "p_state": "idle",
          "p_processed_delta": -1}, "22023", "delta"),
    ],
    "start_automation_run": [
        ({"p_process": "implementation", "p_worker_id": "w", "p_trigger": "cron"}, "22023",
         "p_trigger"),
        ({"p_process": "implementation", "p_worker_id": "w", "p_command_id": 999}, "P0002", "999"),
    ],
    "finish_automation_run": [
        ({"p_run_id": 1, "p_status": "ok"}, "22023", "p_status"),
        ({"p_run_id": 999, "p_status": "failed"}, "P0002", "999"),
        ({"p_run_id": 1, "p_status": "failed"}, "55000", "already succeeded"),
        ({"p_run_id": 1, "p_status": "failed", "p_items_failed": -1}, "22023", "0 or more"),
    ],
    "log_automation_event": [
        ({"p_process": "system", "p_level": "fatal", "p_message": "x"}, "22023", "p_level"),
        ({"p_process": "billing", "p_level": "info", "p_message": "x"}, "22023", "p_process"),
        ({"p_process": "system", "p_level": "info", "p_message": " "}, "22023", "p_message"),
        ({"p_process": "system", "p_level": "info", "p_message": "x", "p_metadata": [1]},
         "22023", "object"),
        ({"p_process": "system", "p_level": "info", "p_message": "x", "p_run_id": 999},
         "P0002", "run 999"),
    ],
    "get_throughput_timeseries": [
        ({"p_hours": 0}, "22023", "p_hours"),
        ({"p_hours": 2161}, "22023", "p_hours"),
        ({"p_bucket": "week"}, "22023", "p_bucket"),
        ({"p_hours": 169, "p_bucket": "minute"}, "22023", "168"),
    ],
    "get_conversion_funnel": [({"p_target_id": 999}, "P0002", "999")],
    "search_businesses": [
        ({"p_limit": 0}, "22023", "p_limit"),
        ({"p_limit": 501}, "22023", "p_limit"),
        ({"p_status": "bogus"}, "22023", "p_status"),
        ({"p_before_id": 0}, "22023", "p_before_id"),
    ],
    "record_stripe_event": [
        ({"p_id": "", "p_type": "x", "p_payload": {}}, "22023", "p_id"),
        ({"p_id": "evt_1", "p_type": "x", "p_payload": [1]}, "22023", "p_payload"),
        ({"p_id": "evt_1", "p_type": "", "p_payload": {}}, "22023", "p_type"),
    ],
    "mark_business_claimed": [
        ({"p_uuid": "BAD", "p_payment_id": "pi_1"}, "22023", "8 lowercase"),
        ({"p_uuid": "nobody00", "p_payment_id": "pi_1"}, "P0002", "nobody00"),
        ({"p_uuid": "paid0001", "p_payment_id": "pi_1", "p_customer_email": "nope"}, "22023",
         "email"),
        ({"p_uuid": "paid0001", "p_payment_id": "pi_second"}, "55000", "different payment"),
        ({"p_uuid": "paid0001", "p_payment_id": "pi_first", "p_event_id": "evt_none"}, "P0002",
         "record_stripe_event"),
    ],
    "record_outreach_event": [
        ({"p_provider": "", "p_provider_event_id": "e", "p_event_type": "EMAIL_SENT"}, "22023",
         "p_provider"),
        ({"p_provider": "smartlead", "p_provider_event_id": "", "p_event_type": "EMAIL_SENT"},
         "22023", "p_provider_event_id"),
        ({"p_provider": "smartlead", "p_provider_event_id": "e", "p_event_type": "EMAIL_SENT",
          "p_payload": [1]}, "22023", "object"),
    ],
    "set_outreach_status": [
        ({"p_qualified_business_id": 1, "p_status": "replied"}, "22023", "p_status"),
        ({"p_qualified_business_id": 999, "p_status": "stopped"}, "P0002", "999"),
        ({"p_qualified_business_id": 1, "p_status": "failed"}, "22023", "p_error"),
        ({"p_qualified_business_id": 1, "p_status": "starting"}, "55000", "already started"),
    ],
}  # fmt: skip


async def fingerprint(backend: PostgresBackend) -> dict[str, str]:
    """An md5 of every row of every public table, as the owner sees them."""
    out: dict[str, str] = {}
    async with backend.owner() as conn:
        cur = await conn.execute(
            "select relname from pg_class where relnamespace = 'public'::regnamespace"
            " and relkind = 'r'"
        )
        for row in await cur.fetchall():
            table = row["relname"]
            cur = await conn.execute(
                f"select md5(coalesce(string_agg(t::text, '|' order by t::text), ''))"
                f" as h from public.{table} t"
            )
            digest = await cur.fetchone()
            assert digest is not None
            out[table] = digest["h"]
    return out


@pytest.mark.parametrize("fn", sorted(CASES))
async def test_bad_input_is_refused_clearly_and_writes_nothing(
    backend: PostgresBackend, fn: str
) -> None:
    async with backend.owner() as conn:
        await conn.execute(SETUP)
    before = await fingerprint(backend)
    assert len(before) == 12
    for params, code, words in CASES[fn]:
        with pytest.raises(BackendError) as err:
            await backend.rpc(fn, params)
        assert err.value.code == code, (fn, params, err.value.message)
        assert words in err.value.message, (fn, params, err.value.message)
    assert await fingerprint(backend) == before
