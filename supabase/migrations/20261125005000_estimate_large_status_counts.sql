-- Status counts that stay cheap at a million rows. Counting a status means reading one
-- index entry per row: 800,000 entries cost 60-250 ms, far over the dashboard's 20 ms,
-- and the live bus runs one snapshot per burst. So each status is counted exactly up to
-- 10,000 rows (at most 10,001 index entries read); above that the count is the planner's
-- statistics (pg_class.reltuples x the status's frequency in pg_stats, as of the last
-- ANALYZE, never below 10,001) and the row says so in count_is_estimate. Callers who
-- cannot see the statistics (RLS hides pg_stats rows from roles it applies to, i.e. admins
-- at aal2 through PostgREST) get the exact count, as before. No trigger, no new table.
-- Same columns as before plus count_is_estimate at the end; same grants and comment.

create or replace view public.v_queue_status with (security_invoker = true) as
with estimate as (
  select s.status, round(c.reltuples * s.freq)::bigint as n
    from pg_catalog.pg_class c
    join pg_catalog.pg_stats st
      on st.schemaname = 'public' and st.tablename = 'pipeline_businesses'
     and st.attname = 'status'
   cross join lateral unnest(st.most_common_vals::text::text[], st.most_common_freqs)
         as s (status, freq)
   where c.oid = 'public.pipeline_businesses'::regclass and c.reltuples > 0
)
select s.status,
       case when c.n <= 10000 then c.n
            when e.n is not null then greatest(e.n, 10001)
            else x.n end::bigint as count,
       o.created_at as oldest_at,
       nw.created_at as newest_at,
       round(extract(epoch from now() - o.created_at), 3) as oldest_age_seconds,
       case when s.status = 'started' then (
         select count(*) from public.pipeline_businesses p
          where p.status = 'started'
            and p.started_at < now() - make_interval(mins => coalesce(
              (select cfg.stale_after_minutes from public.automation_config cfg), 15))
       ) else 0 end::bigint as stale_count,
       (c.n > 10000 and e.n is not null) as count_is_estimate
  from (values (1, 'queued'), (2, 'started'), (3, 'deployed'), (4, 'failed'), (5, 'skipped'))
       as s (ord, status)
  -- at most 10,001 entries of the (status, id) index per status
  left join lateral (
    select count(*) as n from (
      select 1 from public.pipeline_businesses p where p.status = s.status limit 10001
    ) capped
  ) c on true
  left join estimate e on e.status = s.status
  -- the full count only when the capped one overflowed and no statistics are visible
  left join lateral (
    select count(*) as n from public.pipeline_businesses p
     where p.status = s.status and c.n > 10000 and e.n is null
  ) x on true
  left join lateral (
    select p.created_at from public.pipeline_businesses p
     where p.status = s.status order by p.created_at limit 1
  ) o on true
  left join lateral (
    select p.created_at from public.pipeline_businesses p
     where p.status = s.status order by p.created_at desc limit 1
  ) nw on true
 order by s.ord;

comment on view public.v_queue_status is
  'One row per pipeline status (all five, zeros included): count (exact up to 10,000; above that the planner''s estimate, flagged by count_is_estimate, unless the caller cannot read statistics), oldest and newest created_at, age of the oldest, and started rows past stale_after_minutes.';

revoke all on public.v_queue_status from public, anon, authenticated, service_role;
grant select on public.v_queue_status to authenticated, service_role;

-- 1 get_queue_statistics: the same jsonb plus "approximate" (statuses whose count is an
-- estimate; [] when every count is exact) and "exact_up_to" (10000). "total" is the sum,
-- so it is approximate whenever "approximate" is not empty.
create or replace function public.get_queue_statistics()
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_result jsonb;
  v_claimed_hour bigint;
  v_claimed_day bigint;
begin
  -- claims live in qualified_businesses, which signed-in admins may not read directly:
  -- for them the claimed counts are null rather than an error
  if pg_catalog.has_table_privilege('public.qualified_businesses', 'select') then
    select count(*) filter (where qb.claimed_at >= now() - interval '1 hour'), count(*)
      into v_claimed_hour, v_claimed_day
      from public.qualified_businesses qb
     where qb.claimed and qb.claimed_at >= now() - interval '1 day';
  end if;

  with q as materialized (
    select v.status, v.count, v.oldest_at, v.stale_count, v.count_is_estimate
      from public.v_queue_status v
  ),
  finished as (
    -- the finished_at partial index: only the last day's finished rows are read
    select count(*) filter (where p.status = 'deployed' and p.finished_at >= now() - interval '1 hour') as deployed_hour,
           count(*) filter (where p.status = 'failed' and p.finished_at >= now() - interval '1 hour') as failed_hour,
           count(*) filter (where p.status = 'deployed') as deployed_day,
           count(*) filter (where p.status = 'failed') as failed_day
      from public.pipeline_businesses p
     where p.status in ('deployed', 'failed') and p.finished_at is not null
       and p.finished_at >= now() - interval '1 day'
  ),
  identified as (
    select count(*) filter (where p.created_at >= now() - interval '1 hour') as hour,
           count(*) as day
      from public.pipeline_businesses p
     where p.status in ('queued', 'started', 'deployed', 'failed', 'skipped')
       and p.created_at >= now() - interval '1 day'
  )
  select jsonb_build_object(
    'counts', (select jsonb_object_agg(q.status, q.count) from q),
    'total', (select coalesce(sum(q.count), 0)::bigint from q),
    'approximate', (select coalesce(jsonb_agg(q.status order by q.status), '[]'::jsonb)
                      from q where q.count_is_estimate),
    'exact_up_to', 10000,
    'stale_started', (select q.stale_count from q where q.status = 'started'),
    'oldest_queued_at', (select q.oldest_at from q where q.status = 'queued'),
    'oldest_queued_age_seconds',
      (select round(extract(epoch from now() - q.oldest_at), 3) from q where q.status = 'queued'),
    'throughput', jsonb_build_object(
      'last_hour', jsonb_build_object('identified', i.hour, 'deployed', f.deployed_hour,
                                      'failed', f.failed_hour, 'claimed', v_claimed_hour),
      'last_day', jsonb_build_object('identified', i.day, 'deployed', f.deployed_day,
                                     'failed', f.failed_day, 'claimed', v_claimed_day)))
    into v_result
    from finished f, identified i;
  return v_result;
end
$$;
comment on function public.get_queue_statistics() is
  'Queue overview as jsonb: counts per status (exact up to exact_up_to = 10,000; larger ones are planner estimates listed in approximate), total, stale started claims, oldest queued age, and identified/deployed/failed/claimed in the last hour and day (claimed is null for callers who may not read qualified_businesses).';

revoke execute on function public.get_queue_statistics() from public, anon, authenticated;
grant execute on function public.get_queue_statistics() to authenticated, service_role;
