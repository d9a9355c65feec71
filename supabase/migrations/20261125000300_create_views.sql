-- The 2 dashboard views. Both are security_invoker, so they read with the caller's
-- grants and RLS (an aal1 session sees zero rows, never more than the tables allow).

create view public.v_queue_status with (security_invoker = true) as
select s.status,
       coalesce(c.n, 0)::bigint as count,
       o.created_at as oldest_at,
       nw.created_at as newest_at,
       round(extract(epoch from now() - o.created_at), 3) as oldest_age_seconds,
       case when s.status = 'started' then (
         select count(*) from public.pipeline_businesses p
          where p.status = 'started'
            and p.started_at < now() - make_interval(mins => coalesce(
              (select cfg.stale_after_minutes from public.automation_config cfg), 15))
       ) else 0 end::bigint as stale_count
  from (values (1, 'queued'), (2, 'started'), (3, 'deployed'), (4, 'failed'), (5, 'skipped'))
       as s (ord, status)
  -- each lookup is an index-only range of (status, id) or (status, created_at)
  left join lateral (
    select count(*) as n from public.pipeline_businesses p where p.status = s.status
  ) c on true
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
  'One row per pipeline status (all five, zeros included): count, oldest and newest created_at, age of the oldest, and started rows past stale_after_minutes.';

create view public.v_identification_progress with (security_invoker = true) as
select a.total,
       a.done,
       a.in_progress,
       a.pending,
       a.skipped,
       cur.position as current_position,
       cur.id as current_target_id,
       cur.city as current_city,
       cur.region as current_region,
       cur.category as current_category,
       case when a.total = 0 then 0::numeric
            else round(100.0 * (a.done + a.skipped) / a.total, 2) end as percent_complete,
       a.businesses_found
  from (
    select count(*)::bigint as total,
           count(*) filter (where t.status = 'done')::bigint as done,
           count(*) filter (where t.status = 'in_progress')::bigint as in_progress,
           count(*) filter (where t.status = 'pending')::bigint as pending,
           count(*) filter (where t.status = 'skipped')::bigint as skipped,
           coalesce(sum(t.businesses_found), 0)::bigint as businesses_found
      from public.identification_targets t
  ) a
  left join lateral (
    select t.id, t.position, t.city, t.region, t.category
      from public.identification_targets t
     where t.status = 'in_progress'
     order by t.position
     limit 1
  ) cur on true;

comment on view public.v_identification_progress is
  'One row: targets total / done / in progress / pending / skipped, the current target, percent complete (done or skipped) and businesses found.';

-- Supabase grants new views to anon and authenticated; only signed-in admins read them
-- (RLS on the tables underneath still demands aal2), and nobody writes through them.
revoke all on public.v_queue_status, public.v_identification_progress from public, anon, authenticated, service_role;
grant select on public.v_queue_status, public.v_identification_progress to authenticated, service_role;
