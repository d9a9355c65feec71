-- Dashboard reads: the first-paint snapshot (18), throughput chart (19), conversion
-- funnel (20) and keyset business search (21).

-- 18 --------------------------------------------------------------------------------
create function public.get_dashboard_snapshot()
returns jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select jsonb_build_object(
    'queue', public.get_queue_statistics(),
    'identification', (select to_jsonb(v) from public.v_identification_progress v),
    'status', coalesce((select jsonb_agg(to_jsonb(s) order by s.process)
                          from public.get_automation_status() s), '[]'::jsonb),
    'config', (select to_jsonb(c) - 'id' from public.automation_config c where c.id),
    'runs', coalesce((select jsonb_agg(to_jsonb(r) order by r.started_at desc, r.id desc)
                        from (select * from public.automation_runs x
                               order by x.started_at desc, x.id desc limit 10) r), '[]'::jsonb),
    'recent_logs', coalesce((select jsonb_agg(to_jsonb(l) order by l.id desc)
                               from (select * from public.automation_logs x
                                      order by x.id desc limit 20) l), '[]'::jsonb),
    'generated_at', now())
$$;
comment on function public.get_dashboard_snapshot() is
  'Everything the overview paints first, as one jsonb: queue statistics, identification progress, automation status, config, the latest 10 runs and 20 log lines.';

-- 19 --------------------------------------------------------------------------------
create function public.get_throughput_timeseries(
  p_hours integer default 24,
  p_bucket text default 'hour'
)
returns table (bucket timestamptz, identified bigint, deployed bigint, claimed bigint)
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_step interval;
  v_from timestamptz;
begin
  if p_hours is null or p_hours not between 1 and 2160 then
    raise exception 'p_hours must be between 1 and 2160 (90 days)' using errcode = '22023';
  end if;
  if p_bucket is null or p_bucket not in ('minute', 'hour', 'day') then
    raise exception 'p_bucket must be minute, hour or day, not %', coalesce(p_bucket, 'null')
      using errcode = '22023';
  end if;
  if p_bucket = 'minute' and p_hours > 168 then
    raise exception 'minute buckets cover at most 168 hours: use p_bucket hour or day for longer spans'
      using errcode = '22023';
  end if;
  v_step := ('1 ' || p_bucket)::interval;
  v_from := date_trunc(p_bucket, now() - make_interval(hours => p_hours), 'UTC');
  return query
  with series as (
    select g as bucket
      from generate_series(v_from, date_trunc(p_bucket, now(), 'UTC'), v_step) g
  ), found as (
    select date_trunc(p_bucket, p.created_at, 'UTC') as bucket, count(*) as n
      from public.pipeline_businesses p
     where p.status in ('queued', 'started', 'deployed', 'failed', 'skipped')
       and p.created_at >= v_from
     group by 1
  ), deployed as (
    select date_trunc(p_bucket, p.finished_at, 'UTC') as bucket, count(*) as n
      from public.pipeline_businesses p
     where p.finished_at is not null and p.finished_at >= v_from and p.status = 'deployed'
     group by 1
  ), claimed as (
    select date_trunc(p_bucket, q.claimed_at, 'UTC') as bucket, count(*) as n
      from public.qualified_businesses q
     where q.claimed and q.claimed_at >= v_from
     group by 1
  )
  select s.bucket, coalesce(f.n, 0)::bigint, coalesce(d.n, 0)::bigint, coalesce(c.n, 0)::bigint
    from series s
    left join found f on f.bucket = s.bucket
    left join deployed d on d.bucket = s.bucket
    left join claimed c on c.bucket = s.bucket
   order by s.bucket;
end
$$;
comment on function public.get_throughput_timeseries(integer, text) is
  'Identified, deployed and claimed businesses per UTC minute, hour or day over the last p_hours (1 to 2160; minutes up to 168), every bucket present with zeros.';

-- 20 --------------------------------------------------------------------------------
create function public.get_conversion_funnel(p_target_id bigint default null)
returns table (
  target_id bigint, city text, region text, category text, identified bigint,
  deployed bigint, outreach_started bigint, replied bigint, claimed bigint
)
language plpgsql
stable
security invoker
set search_path = ''
as $$
begin
  if p_target_id is not null
     and not exists (select 1 from public.identification_targets t where t.id = p_target_id) then
    raise exception 'identification target % not found', p_target_id using errcode = 'P0002';
  end if;
  return query
  with replies as (
    select distinct e.qualified_business_id as id
      from public.outreach_events e
     where e.event_type = 'EMAIL_REPLY' and e.qualified_business_id is not null
  ), per_target as (
    select p.target_id,
           count(*) as identified,
           count(q.id) as deployed,
           count(q.outreach_started_at) as outreach_started,
           count(q.id) filter (where q.outreach_status = 'replied' or r.id is not null) as replied,
           count(q.id) filter (where q.claimed) as claimed
      from public.pipeline_businesses p
      left join public.qualified_businesses q on q.pipeline_business_id = p.id
      left join replies r on r.id = q.id
     where p_target_id is null or p.target_id = p_target_id
     group by p.target_id
  )
  select f.target_id, f.city, f.region, f.category, f.identified, f.deployed,
         f.outreach_started, f.replied, f.claimed
    from (
      select 0 as ord, null::bigint as target_id, null::text as city, null::text as region,
             null::text as category,
             coalesce(sum(pt.identified), 0)::bigint as identified,
             coalesce(sum(pt.deployed), 0)::bigint as deployed,
             coalesce(sum(pt.outreach_started), 0)::bigint as outreach_started,
             coalesce(sum(pt.replied), 0)::bigint as replied,
             coalesce(sum(pt.claimed), 0)::bigint as claimed
        from per_target pt
      having p_target_id is null  -- an aggregate gives its row even when nothing matches
      union all
      select t.position, t.id, t.city, t.region, t.category,
             coalesce(pt.identified, 0)::bigint, coalesce(pt.deployed, 0)::bigint,
             coalesce(pt.outreach_started, 0)::bigint, coalesce(pt.replied, 0)::bigint,
             coalesce(pt.claimed, 0)::bigint
        from public.identification_targets t
        left join per_target pt on pt.target_id = t.id
       where p_target_id is null or t.id = p_target_id
    ) f
   order by f.ord;
end
$$;
comment on function public.get_conversion_funnel(bigint) is
  'Identified, deployed, outreach started, replied and claimed: first the overall row (target_id null), then one row per target by position; with p_target_id only that target (P0002 when unknown).';

-- 21 --------------------------------------------------------------------------------
create function public.search_businesses(
  p_query text default null,
  p_status text default null,
  p_before_id bigint default null,
  p_limit integer default 50
)
returns table (
  id bigint, uuid text, place_id text, name text, category text, city text, region text,
  status text, site_status text, outreach_status text, claimed boolean, preview_url text,
  attempts integer, last_error text, created_at timestamptz, updated_at timestamptz
)
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_query text := nullif(btrim(p_query), '');
  v_where text := 'true';
begin
  if p_limit is null or p_limit not between 1 and 500 then
    raise exception 'p_limit must be between 1 and 500' using errcode = '22023';
  end if;
  if p_before_id is not null and p_before_id < 1 then
    raise exception 'p_before_id must be a business id (1 or more), or null for the first page'
      using errcode = '22023';
  end if;
  if p_status is not null and p_status not in ('queued', 'started', 'deployed', 'failed', 'skipped',
                                               'claimed', 'unclaimed', 'review') then
    raise exception 'p_status must be one of queued, started, deployed, failed, skipped, claimed, unclaimed, review, not %',
      p_status using errcode = '22023';
  end if;
  if length(v_query) > 200 then
    raise exception 'p_query is longer than 200 characters' using errcode = '22023';
  end if;

  -- built per call so each search gets a plan for its own filters (indexes: pkey,
  -- (status, id), name trigram, place_id, uuid, lower(city))
  if p_before_id is not null then
    v_where := v_where || ' and p.id < $2';
  end if;
  if v_query is not null then
    v_where := v_where || ' and p.id in (
        select x.id from public.pipeline_businesses x where x.name ilike $3
        union select x.id from public.pipeline_businesses x where lower(x.city) = lower($1)
        union select x.id from public.pipeline_businesses x where x.place_id = $1
        union select y.pipeline_business_id from public.qualified_businesses y where y.uuid = lower($1))';
  end if;
  v_where := v_where || case p_status
    when 'claimed' then ' and q.claimed'
    when 'unclaimed' then ' and not q.claimed'
    when 'review' then ' and q.review_reason is not null'
    else case when p_status is null then '' else ' and p.status = $4' end end;

  return query execute
    'select p.id, q.uuid, p.place_id, p.name, p.category, p.city, p.region, p.status,
            q.site_status, q.outreach_status, q.claimed, q.preview_url, p.attempts, p.last_error,
            p.created_at, greatest(p.updated_at, q.updated_at)
       from public.pipeline_businesses p
       left join public.qualified_businesses q on q.pipeline_business_id = p.id
      where ' || v_where || '
      order by p.id desc
      limit $5'
    using v_query, p_before_id,
          '%' || replace(replace(replace(coalesce(v_query, ''), '\', '\\'), '%', '\%'), '_', '\_') || '%',
          p_status, p_limit;
end
$$;
comment on function public.search_businesses(text, text, bigint, integer) is
  'Keyset-paged search over pipeline_businesses left join qualified_businesses, newest id first (pass the last id as p_before_id): p_query matches name (ilike), city, exact place_id or uuid; p_status is a pipeline status or claimed / unclaimed / review; p_limit 1 to 500.';

revoke execute on function public.get_dashboard_snapshot(),
  public.get_throughput_timeseries(integer, text),
  public.get_conversion_funnel(bigint),
  public.search_businesses(text, text, bigint, integer)
  from public, anon, authenticated;
grant execute on function public.get_dashboard_snapshot(),
  public.get_throughput_timeseries(integer, text),
  public.get_conversion_funnel(bigint),
  public.search_businesses(text, text, bigint, integer)
  to service_role;
