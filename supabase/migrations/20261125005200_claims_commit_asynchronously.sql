-- claim_next_business (RPC 4) commits its own transaction asynchronously.
--
-- A claim is fenced: it writes a fresh claim_token, and mark_business_deployed /
-- mark_business_failed change nothing unless they bring that token back. So waiting for
-- the WAL flush at commit buys a claim nothing: if the database crashed within the
-- flush delay (at most 3 x wal_writer_delay, 600 ms by default), the claim is forgotten,
-- the row is `queued` again with its old attempts, and the worker's finish is refused
-- (55000) and changes nothing: the business is simply claimed again. PostgreSQL writes
-- WAL in order, so no durable transaction can depend on a forgotten claim.
-- What it buys: 16 claiming workers no longer queue behind each other's WAL flushes
-- (LWLock WALWrite was the commonest wait of the claim benchmark).
-- Only this function's transaction is affected (set_config(..., true) lasts until its
-- commit); every other RPC still commits durably. synchronous_commit is a user setting,
-- so this works the same through PostgREST on Supabase.
-- Same signature, checks, order and behaviour otherwise; grants are kept by
-- `create or replace`.

create or replace function public.claim_next_business(p_worker_id text)
returns setof public.pipeline_businesses
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_config public.automation_config;
  v_deployed_today bigint;
begin
  if p_worker_id is null or length(btrim(p_worker_id)) = 0 or length(p_worker_id) > 200 then
    raise exception 'p_worker_id is required: pass the worker''s id (1 to 200 characters)'
      using errcode = '22023';
  end if;
  -- until this transaction ends: its commit does not wait for the WAL flush (see above)
  perform pg_catalog.set_config('synchronous_commit', 'off', true);
  select * into v_config from public.automation_config c where c.id;
  if not found or not v_config.implementation_enabled then
    return;
  end if;
  -- counts at most daily_deploy_limit index entries of today (UTC), so it stays cheap
  select count(*) into v_deployed_today from (
    select 1 from public.pipeline_businesses p
     where p.finished_at is not null
       and p.finished_at >= (date_trunc('day', now() at time zone 'UTC') at time zone 'UTC')
       and p.status = 'deployed'
     limit v_config.daily_deploy_limit
  ) d;
  if v_deployed_today >= v_config.daily_deploy_limit then
    return;
  end if;
  return query
  with next_row as (
    select p.id from public.pipeline_businesses p
     where p.status = 'queued'
     order by p.priority desc, p.created_at, p.id
     limit 1
     for update skip locked
  )
  update public.pipeline_businesses p
     set status = 'started', claimed_by = p_worker_id, claim_token = gen_random_uuid(),
         started_at = now(), finished_at = null, attempts = p.attempts + 1
    from next_row
   where p.id = next_row.id
  returning p.*;
end
$$;
comment on function public.claim_next_business(text) is
  'Takes the next queued business (priority desc, created_at, id) with FOR UPDATE SKIP LOCKED, marks it started with a fresh claim_token; none when implementation is disabled or today''s (UTC) deploys reached daily_deploy_limit. Commits asynchronously (synchronous_commit off for its own transaction): a database crash may forget the last claims (they are queued again), and the claim token refuses their late finishes.';
