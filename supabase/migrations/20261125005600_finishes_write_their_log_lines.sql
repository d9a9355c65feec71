-- mark_business_deployed (RPC 8) and mark_business_failed (RPC 11) write the business's
-- log line themselves, in their own transaction.
--
-- Why: the worker wrote that line with a second call after the finish had committed, so
-- a worker killed between the two (kill -9, a lost machine) left a deployed or requeued
-- business with no line saying so. A clean-clone CI run caught it: the kill drill found
-- 119 "deployed" lines for 120 deployed businesses. Now the finish and its line commit
-- together or not at all, on the embedded server and on Supabase alike.
--
-- The lines are the ones the worker wrote, on process implementation, for the business,
-- in the running implementation run of the worker that holds the claim (none if it has
-- no open run), with metadata {"worker_id", "attempt"}:
-- - deployed: info, "deployed <name> at <preview_url>", metadata also {"uuid"}; a repeat
--   with the same token writes no second line;
-- - failed: "<name>: <error>; requeued (attempt <n> of <max_attempts>)" as a warning, or
--   "<name>: <error>; failed for good after <n> attempts" as an error.
--
-- And mark_business_failed takes p_release, for a claim handed back untried. Why: a
-- worker stopped mid-item (SIGTERM past its grace period, as in a rollout) hands
-- its business back through mark_business_failed, and that counted as a failed attempt:
-- every such stop cost the business one of its max_attempts, a stop during the last
-- attempt failed it for good, and its last_error became "released: the worker stopped
-- mid-item", though nothing about the business had failed.
--
-- How: with p_release true the business is queued again whatever its attempts and
-- p_retry, the claim's attempt is given back (attempts - 1), last_error stays as it was,
-- and the log line reads "<name>: handed back untried (<p_error>); queued again, attempt
-- <n> not counted" (a warning). Fenced like every finish. The new parameter comes last
-- with default false, so every existing call keeps its meaning; the function is dropped
-- and created again (a new parameter makes a new signature) and its grants restated.
-- (Both changes are one migration because neither had landed anywhere yet.)

create or replace function public.mark_business_deployed(
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

  insert into public.automation_logs (process, level, message, run_id, business_id, metadata)
  values ('implementation', 'info',
          left('deployed ' || v_business.name || ' at ' || v_result.preview_url, 10000),
          (select r.id from public.automation_runs r
            where r.worker_id = v_business.claimed_by and r.status = 'running'
              and r.process = 'implementation'
            order by r.started_at desc, r.id desc limit 1),
          p_business_id,
          jsonb_build_object('worker_id', v_business.claimed_by, 'uuid', v_result.uuid,
                             'attempt', v_business.attempts));
  return v_result;
end
$$;
comment on function public.mark_business_deployed(bigint, text, uuid, text) is
  'Fenced finish of a claim: the row must be started with this claim_token (else 55000 claim lost). Creates the qualified_businesses row with p_uuid or a random 8-char uuid, {uuid} in p_preview_url replaced, and the "deployed" automation_logs line, in one transaction. A repeat with the same token returns the existing row and writes nothing.';

drop function public.mark_business_failed(bigint, uuid, text, boolean);

create function public.mark_business_failed(
  p_business_id bigint,
  p_claim_token uuid,
  p_error text,
  p_retry boolean default true,
  p_release boolean default false
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
  v_worker text;
  v_attempt integer;
  v_requeue boolean;
begin
  if p_business_id is null or p_claim_token is null or p_retry is null or p_release is null then
    raise exception 'p_business_id, p_claim_token, p_retry and p_release are required: pass the id and token from claim_next_business'
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
  v_worker := v_business.claimed_by;
  v_attempt := v_business.attempts;
  v_requeue := p_release or (p_retry and v_attempt < v_max_attempts);

  update public.pipeline_businesses p
     set status = case when v_requeue then 'queued' else 'failed' end,
         claimed_by = case when v_requeue then null else p.claimed_by end,
         claim_token = case when v_requeue then null else p.claim_token end,
         started_at = case when v_requeue then null else p.started_at end,
         finished_at = case when v_requeue then null else now() end,
         -- a release gives the claim's attempt back and is not the business's error
         attempts = case when p_release then greatest(p.attempts - 1, 0) else p.attempts end,
         last_error = case when p_release then p.last_error else left(p_error, 10000) end
   where p.id = p_business_id
  returning p.* into v_business;

  insert into public.automation_logs (process, level, message, run_id, business_id, metadata)
  values ('implementation', case when v_requeue then 'warning' else 'error' end,
          left(case
                 when p_release then format('%s: handed back untried (%s); queued again, attempt %s not counted',
                                            v_business.name, p_error, v_attempt)
                 when v_requeue then format('%s: %s; requeued (attempt %s of %s)',
                                            v_business.name, p_error, v_attempt, v_max_attempts)
                 else format('%s: %s; failed for good after %s attempts',
                             v_business.name, p_error, v_attempt) end,
               10000),
          (select r.id from public.automation_runs r
            where r.worker_id = v_worker and r.status = 'running'
              and r.process = 'implementation'
            order by r.started_at desc, r.id desc limit 1),
          p_business_id,
          jsonb_build_object('worker_id', v_worker, 'attempt', v_attempt));
  return v_business;
end
$$;
comment on function public.mark_business_failed(bigint, uuid, text, boolean, boolean) is
  'Fenced like mark_business_deployed: requeues the business when p_retry and attempts < max_attempts, else marks it failed with finished_at; records last_error. With p_release (a claim handed back untried, e.g. by a stopping worker) it requeues whatever the attempts, gives the attempt back and keeps last_error. Writes the automation_logs line in the same transaction.';

revoke execute on function public.mark_business_failed(bigint, uuid, text, boolean, boolean)
  from public, anon, authenticated;
grant execute on function public.mark_business_failed(bigint, uuid, text, boolean, boolean)
  to service_role;
