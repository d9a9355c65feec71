-- get_automation_status (RPC 3): the heartbeat window is read from automation_config
-- once, as a one-row CTE, instead of by a join.
--
-- Why: on a database whose small tables were never analyzed (every new one, until
-- autovacuum has seen enough changes), the planner guesses automation_status at 260
-- rows and automation_config at 320 (it does not know `where c.id` on the boolean
-- primary key matches at most one row), so the join came to 83,200 rows and a cost of
-- 258,813, past jit_above_cost (100,000). A server with JIT (PostgreSQL's default,
-- `jit = on`, wherever LLVM is installed, as on this machine's PostgreSQL 15) then
-- compiled the query on every call: 14.9 ms instead of 0.4 ms, and 12.2 ms instead of
-- 2.3 ms for get_dashboard_snapshot, which calls it on every live update. A scalar
-- subquery is one row by definition, whatever the statistics say.

create or replace function public.get_automation_status()
returns table (
  process text, state text, desired_state text, worker_id text, workers jsonb,
  worker_count integer, current_business_id bigint, current_target_id bigint,
  last_heartbeat_at timestamptz, heartbeat_age_seconds numeric, is_stale boolean,
  started_at timestamptz, processed_count bigint, error_count bigint, message text,
  paused_reason text, updated_at timestamptz
)
language sql
stable
security invoker
set search_path = ''
as $$
  with cfg as (
    select now() - make_interval(secs => coalesce(
             (select c.heartbeat_stale_seconds from public.automation_config c where c.id),
             60)) as live_since
  )
  select s.process, s.state, s.desired_state, s.worker_id, s.workers,
         (select count(*) from jsonb_each(s.workers) w
           where (w.value ->> 'heartbeat_at')::timestamptz >= cfg.live_since)::integer,
         s.current_business_id, s.current_target_id, s.last_heartbeat_at,
         round(extract(epoch from now() - s.last_heartbeat_at), 3),
         s.last_heartbeat_at is null or s.last_heartbeat_at < cfg.live_since,
         s.started_at, s.processed_count, s.error_count, s.message, s.paused_reason, s.updated_at
    from public.automation_status s
    cross join cfg
   order by s.process
$$;
comment on function public.get_automation_status() is
  'Both processes'' status rows with live worker count, heartbeat age and is_stale (no heartbeat, or older than automation_config.heartbeat_stale_seconds).';
