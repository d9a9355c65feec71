-- mark_business_failed (RPC 11) takes p_release: a claim handed back untried.
--
-- Why: a worker stopped mid-item (SIGTERM past its grace period, as in a rollout) hands
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
