-- The implementation queue: statistics (1), claim (4), deploy (8), stale reset (9) and
-- failure (11). Claims are fenced by claim_token: only the current holder may finish a row.

-- 1 ---------------------------------------------------------------------------------
create function public.get_queue_statistics()
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
    select v.status, v.count, v.oldest_at, v.stale_count from public.v_queue_status v
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
  'Queue overview as jsonb: counts per status, total, stale started claims, oldest queued age, and identified/deployed/failed/claimed in the last hour and day (claimed is null for callers who may not read qualified_businesses).';

-- 4 ---------------------------------------------------------------------------------
create function public.claim_next_business(p_worker_id text)
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
  'Takes the next queued business (priority desc, created_at, id) with FOR UPDATE SKIP LOCKED, marks it started with a fresh claim_token; none when implementation is disabled or today''s (UTC) deploys reached daily_deploy_limit.';

-- 8 ---------------------------------------------------------------------------------
create function public.mark_business_deployed(
  p_business_id bigint,
  p_preview_url text,
  p_claim_token uuid,
  p_uuid text default null
)
returns public.qualified_businesses
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_business public.pipeline_businesses;
  v_result public.qualified_businesses;
  v_uuid text;
  v_try integer := 0;
begin
  if p_business_id is null or p_claim_token is null then
    raise exception 'p_business_id and p_claim_token are required: pass the id and token from claim_next_business'
      using errcode = '22004';
  end if;
  if p_preview_url is null or length(btrim(p_preview_url)) = 0 or length(p_preview_url) > 1900 then
    raise exception 'p_preview_url is required (1 to 1900 characters; {uuid} is replaced by the public uuid)'
      using errcode = '22023';
  end if;
  if p_uuid is not null and p_uuid !~ '^[a-z0-9]{8}$' then
    raise exception 'p_uuid "%" is invalid: use exactly 8 lowercase letters or digits, or pass null', p_uuid
      using errcode = '22023';
  end if;

  select * into v_business from public.pipeline_businesses p where p.id = p_business_id for update;
  if not found then
    raise exception 'business % not found', p_business_id using errcode = 'P0002';
  end if;
  if v_business.status = 'deployed' and v_business.claim_token = p_claim_token then
    select * into v_result from public.qualified_businesses q where q.pipeline_business_id = p_business_id;
    return v_result;  -- a repeat of the same deploy: idempotent
  end if;
  if v_business.status <> 'started' or v_business.claim_token is distinct from p_claim_token then
    raise exception 'claim lost: business % is % and no longer held by this claim; drop the work, it was reset or taken by another worker',
      p_business_id, v_business.status using errcode = '55000';
  end if;
  if exists (select 1 from public.qualified_businesses q where q.pipeline_business_id = p_business_id) then
    raise exception 'business % already has a deployed site', p_business_id using errcode = '23505';
  end if;

  loop
    v_try := v_try + 1;
    v_uuid := coalesce(p_uuid, (
      select string_agg(substr('abcdefghijklmnopqrstuvwxyz0123456789', 1 + floor(random() * 36)::int, 1), '')
        from generate_series(1, 8)));
    insert into public.qualified_businesses (
      uuid, pipeline_business_id, place_id, name, category, city, region, address, phone,
      email, preview_url)
    values (
      v_uuid, v_business.id, v_business.place_id, v_business.name, v_business.category,
      v_business.city, v_business.region, v_business.address, v_business.phone,
      v_business.email, replace(p_preview_url, '{uuid}', v_uuid))
    on conflict (uuid) do nothing
    returning * into v_result;
    exit when v_result.id is not null;
    if p_uuid is not null then
      raise exception 'uuid "%" is already used by another business: pass another or null', p_uuid
        using errcode = '23505';
    end if;
    if v_try >= 20 then
      raise exception 'could not find a free public uuid after 20 tries' using errcode = '23505';
    end if;
  end loop;

  update public.pipeline_businesses p
     set status = 'deployed', finished_at = now(), last_error = null
   where p.id = p_business_id;
  return v_result;
end
$$;
comment on function public.mark_business_deployed(bigint, text, uuid, text) is
  'Fenced finish of a claim: the row must be started with this claim_token (else 55000 claim lost). Creates the qualified_businesses row with p_uuid or a random 8-char uuid, {uuid} in p_preview_url replaced. A repeat with the same token returns the existing row.';

-- 9 ---------------------------------------------------------------------------------
create function public.reset_stale_started_businesses(p_stale_after_minutes integer default null)
returns integer
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_minutes integer;
  v_max_attempts integer;
  v_count integer;
begin
  if p_stale_after_minutes is not null and p_stale_after_minutes not between 1 and 10080 then
    raise exception 'p_stale_after_minutes must be between 1 and 10080 (a week), or null for the configured value'
      using errcode = '22023';
  end if;
  select coalesce(p_stale_after_minutes, c.stale_after_minutes), c.max_attempts
    into v_minutes, v_max_attempts
    from public.automation_config c where c.id;
  v_minutes := coalesce(v_minutes, p_stale_after_minutes, 15);
  v_max_attempts := coalesce(v_max_attempts, 3);

  with stale as (
    select p.id from public.pipeline_businesses p
     where p.status = 'started' and p.started_at < now() - make_interval(mins => v_minutes)
     for update skip locked
  ), changed as (
    update public.pipeline_businesses p
       set status = case when p.attempts < v_max_attempts then 'queued' else 'failed' end,
           claimed_by = case when p.attempts < v_max_attempts then null else p.claimed_by end,
           claim_token = null,
           started_at = case when p.attempts < v_max_attempts then null else p.started_at end,
           finished_at = case when p.attempts < v_max_attempts then null else now() end,
           last_error = format('claim by %s went stale after %s minutes (attempt %s of %s)%s',
                               coalesce(p.claimed_by, 'unknown worker'), v_minutes, p.attempts,
                               v_max_attempts,
                               case when p.attempts < v_max_attempts then '; requeued'
                                    else '; failed: no attempts left' end)
      from stale
     where p.id = stale.id
    returning 1
  )
  select count(*) into v_count from changed;
  return v_count;
end
$$;
comment on function public.reset_stale_started_businesses(integer) is
  'Started rows older than p_stale_after_minutes (default automation_config.stale_after_minutes): requeued with the claim cleared while attempts < max_attempts, else failed; returns how many rows changed.';

-- 11 --------------------------------------------------------------------------------
create function public.mark_business_failed(
  p_business_id bigint,
  p_claim_token uuid,
  p_error text,
  p_retry boolean default true
)
returns public.pipeline_businesses
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_business public.pipeline_businesses;
  v_max_attempts integer;
begin
  if p_business_id is null or p_claim_token is null or p_retry is null then
    raise exception 'p_business_id, p_claim_token and p_retry are required: pass the id and token from claim_next_business'
      using errcode = '22004';
  end if;
  if p_error is null or length(btrim(p_error)) = 0 then
    raise exception 'p_error is required: say why the business failed' using errcode = '22023';
  end if;
  select * into v_business from public.pipeline_businesses p where p.id = p_business_id for update;
  if not found then
    raise exception 'business % not found', p_business_id using errcode = 'P0002';
  end if;
  if v_business.status <> 'started' or v_business.claim_token is distinct from p_claim_token then
    raise exception 'claim lost: business % is % and no longer held by this claim; drop the work, it was reset or taken by another worker',
      p_business_id, v_business.status using errcode = '55000';
  end if;
  select c.max_attempts into v_max_attempts from public.automation_config c where c.id;
  v_max_attempts := coalesce(v_max_attempts, 3);

  update public.pipeline_businesses p
     set status = case when p_retry and p.attempts < v_max_attempts then 'queued' else 'failed' end,
         claimed_by = case when p_retry and p.attempts < v_max_attempts then null else p.claimed_by end,
         claim_token = case when p_retry and p.attempts < v_max_attempts then null else p.claim_token end,
         started_at = case when p_retry and p.attempts < v_max_attempts then null else p.started_at end,
         finished_at = case when p_retry and p.attempts < v_max_attempts then null else now() end,
         last_error = left(p_error, 10000)
   where p.id = p_business_id
  returning p.* into v_business;
  return v_business;
end
$$;
comment on function public.mark_business_failed(bigint, uuid, text, boolean) is
  'Fenced like mark_business_deployed: requeues the business when p_retry and attempts < max_attempts, else marks it failed with finished_at; records last_error.';

-- Grants: service_role only, except get_queue_statistics which admins read too (at aal2 through RLS).
revoke execute on function public.get_queue_statistics(), public.claim_next_business(text),
  public.mark_business_deployed(bigint, text, uuid, text),
  public.reset_stale_started_businesses(integer),
  public.mark_business_failed(bigint, uuid, text, boolean)
  from public, anon, authenticated;
grant execute on function public.get_queue_statistics(), public.claim_next_business(text),
  public.mark_business_deployed(bigint, text, uuid, text),
  public.reset_stale_started_businesses(integer),
  public.mark_business_failed(bigint, uuid, text, boolean)
  to service_role;
grant execute on function public.get_queue_statistics() to authenticated;
