-- Status estimates that follow the table between ANALYZEs, and ANALYZEs 5x as often.
--
-- 1. The estimate of migration 005000 (reltuples x share) stood still between ANALYZEs;
--    it now scales reltuples by the pages the table has now, as the planner does, so
--    rows added since the last VACUUM/ANALYZE are counted (the shares still date from
--    the last ANALYZE). Same view, same columns, grants and comment otherwise.
-- 2. PostgreSQL's defaults vacuum pipeline_businesses after 20 % of its rows changed and
--    analyze it after 10 %: at 1,000,000 rows, 200,000 claims' worth of dead entries at
--    the head of pipeline_businesses_queue_idx (each claim leaves one that every later
--    claim walks past) and shares that lag by 100,000 changes. 2 % for both keeps the
--    walk short and the shares fresh, for one vacuum per 20,000 changed rows.
alter table public.pipeline_businesses set (
  autovacuum_vacuum_scale_factor = 0.02,
  autovacuum_analyze_scale_factor = 0.02
);

create or replace view public.v_queue_status with (security_invoker = true) as
with estimate as (
  -- as the planner does: rows per page at the last VACUUM/ANALYZE x the pages now, so
  -- rows added since then count too; x the status's share at the last ANALYZE
  select s.status,
         round(c.reltuples / c.relpages * (pg_catalog.pg_relation_size(c.oid)
               / pg_catalog.current_setting('block_size')::integer) * s.freq)::bigint as n
    from pg_catalog.pg_class c
    join pg_catalog.pg_stats st
      on st.schemaname = 'public' and st.tablename = 'pipeline_businesses'
     and st.attname = 'status'
   cross join lateral unnest(st.most_common_vals::text::text[], st.most_common_freqs)
         as s (status, freq)
   where c.oid = 'public.pipeline_businesses'::regclass and c.reltuples > 0 and c.relpages > 0
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
  'One row per pipeline status (all five, zeros included): count (exact up to 10,000; above that the planner''s estimate (rows per page x pages now x the status''s share at the last ANALYZE), flagged by count_is_estimate, unless the caller cannot read statistics), oldest and newest created_at, age of the oldest, and started rows past stale_after_minutes.';

revoke all on public.v_queue_status from public, anon, authenticated, service_role;
grant select on public.v_queue_status to authenticated, service_role;
