-- claim_next_business (RPC 4): claiming connections continue after the newest claim of
-- any of them, kept in one shared unlogged sequence, instead of each after its own; and
-- pipeline_businesses leaves a fifth of each page free, so a claim's new row version
-- stays on its page.
--
-- Why: with 005400 each connection continued after its own previous claim, but the
-- other claiming connections had taken the rows just after it in the meantime, so with
-- 16 connections each claim still read 16.9 index entries (2.8 with 2): rows claimed
-- since, or being claimed, each a heap visit and a lock try or a recheck. Measured on
-- the bench queue (16 connections, 200,000 queued): 3.6 entries a claim with the shared
-- place.
--
-- How: pipeline_claim_frontier holds the id of the newest claimed row (setval after each
-- claim; unlogged, so it costs no WAL, and after a crash it restarts empty, which only
-- means one scan from the head). The session setting cliftonsites.claim_hint now holds
-- just the time (epoch ms) of the connection's last scan from the head. Within 1,000 ms
-- of it, a claim first looks for the next queued row after the frontier row's place in
-- the queue order; if there is none, or the hint is older, unknown or malformed, or the
-- frontier row is gone, it scans from the head and the clock restarts. The guarantee of
-- 005400 holds: a row queued ahead of the frontier (a retry, a stale reset, a higher
-- priority) is taken by a connection's next scan from the head, at most a second later,
-- and a worker that claims less than once a second keeps the exact order.
--
-- A claim cannot be a HOT update (status is indexed), so its new row version needs a
-- page with room; at fillfactor 100 that was the table's last page, shared by every
-- claiming connection. At 80, page pruning makes room again on the same page.
--
-- The function also runs 3 queries a claim where 005400 ran 5 (2 when it scans from the
-- head): function calls are assigned instead of PERFORMed (a PERFORM is a whole query
-- through the executor, an assignment is evaluated directly), and the config read and
-- the daily count are one query.

create unlogged sequence public.pipeline_claim_frontier as bigint;
comment on sequence public.pipeline_claim_frontier is
  'Id of the newest row claimed by claim_next_business (a hint only: claims within a second of their connection''s last scan from the head continue after that row''s place in the queue). Unlogged: empty again after a crash.';
revoke all on sequence public.pipeline_claim_frontier from public, anon, authenticated;
grant select, update on sequence public.pipeline_claim_frontier to service_role;

alter table public.pipeline_businesses set (fillfactor = 80);

create or replace function public.claim_next_business(p_worker_id text)
returns setof public.pipeline_businesses
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_enabled boolean;
  v_limit integer;
  v_deployed_today bigint;
  v_now_ms constant bigint := (extract(epoch from pg_catalog.clock_timestamp()) * 1000)::bigint;
  v_hint constant text := coalesce(pg_catalog.current_setting('cliftonsites.claim_hint', true), '');
  v_after_id bigint;
  v_after_rank integer;
  v_after_created timestamptz;
  v_scanned_at bigint;
  v_row public.pipeline_businesses;
  v_ignored text;
begin
  if p_worker_id is null or length(btrim(p_worker_id)) = 0 or length(p_worker_id) > 200 then
    raise exception 'p_worker_id is required: pass the worker''s id (1 to 200 characters)'
      using errcode = '22023';
  end if;
  -- (function calls are assigned rather than PERFORMed: an assignment is evaluated
  -- directly, a PERFORM runs a whole query through the executor)
  -- until this transaction ends: its commit does not wait for the WAL flush (005200)
  v_ignored := pg_catalog.set_config('synchronous_commit', 'off', true);
  -- today's (UTC) deploys, counting at most daily_deploy_limit index entries
  select c.implementation_enabled, c.daily_deploy_limit,
         (select count(*) from (
            select 1 from public.pipeline_businesses p
             where p.finished_at is not null
               and p.finished_at >= (date_trunc('day', now() at time zone 'UTC') at time zone 'UTC')
               and p.status = 'deployed'
             limit c.daily_deploy_limit) d)
    into v_enabled, v_limit, v_deployed_today
    from public.automation_config c where c.id;
  if not found or not v_enabled or v_deployed_today >= v_limit then
    return;
  end if;

  -- the place after which this claim looks first: the frontier row's, when this
  -- connection scanned from the head less than a second ago; else none
  if v_hint ~ '^[0-9]{1,18}$' and v_now_ms - v_hint::bigint between 0 and 999 then
    v_scanned_at := v_hint::bigint;
    v_after_id := pg_catalog.pg_sequence_last_value('public.pipeline_claim_frontier');
    select (-p.priority), p.created_at, p.id into v_after_rank, v_after_created, v_after_id
      from public.pipeline_businesses p
     where p.id = v_after_id;
  end if;

  with next_row as (
    -- the first queued row after that place; if none, the first from the head
    select coalesce(
      (select p.id from public.pipeline_businesses p
        where p.status = 'queued'
          and ((-p.priority), p.created_at, p.id) > (v_after_rank, v_after_created, v_after_id)
        order by (-p.priority), p.created_at, p.id
        limit 1
        for update skip locked),
      (select p.id from public.pipeline_businesses p
        where p.status = 'queued'
        order by (-p.priority), p.created_at, p.id
        limit 1
        for update skip locked)) as id
  )
  update public.pipeline_businesses p
     set status = 'started', claimed_by = p_worker_id, claim_token = gen_random_uuid(),
         started_at = now(), finished_at = null, attempts = p.attempts + 1
    from next_row
   where p.id = next_row.id
  returning p.* into v_row;
  if v_row.id is null then
    return;
  end if;
  -- a row from the head (no place, or not after it) restarts this connection's clock
  if v_after_id is null
     or ((-v_row.priority), v_row.created_at, v_row.id)
        <= (v_after_rank, v_after_created, v_after_id) then
    v_scanned_at := v_now_ms;
  end if;
  v_ignored := pg_catalog.setval('public.pipeline_claim_frontier', v_row.id);
  v_ignored := pg_catalog.set_config('cliftonsites.claim_hint', v_scanned_at::text, false);
  return next v_row;
end
$$;
comment on function public.claim_next_business(text) is
  'Takes the next queued business (priority desc, created_at, id) with FOR UPDATE SKIP LOCKED, marks it started with a fresh claim_token; none when implementation is disabled or today''s (UTC) deploys reached daily_deploy_limit. Commits asynchronously: a database crash may forget the last claims (they are queued again), and the claim token refuses their late finishes. Within a second of its last scan from the head, a connection continues after the newest claim of any connection (pipeline_claim_frontier), so a row queued ahead of that (a retry, a reset, a higher priority) waits for the next scan from the head, at most a second.';
