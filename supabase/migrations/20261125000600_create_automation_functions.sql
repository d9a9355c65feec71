-- Automation control: status (3), commands (5, 12, 13), config (6), heartbeats (14),
-- runs (15, 16) and logs (17). Commands and config changes are audited.

-- 3 ---------------------------------------------------------------------------------
create function public.get_automation_status()
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
  select s.process, s.state, s.desired_state, s.worker_id, s.workers,
         (select count(*) from jsonb_each(s.workers) w
           where (w.value ->> 'heartbeat_at')::timestamptz
                 >= now() - make_interval(secs => coalesce(c.heartbeat_stale_seconds, 60)))::integer,
         s.current_business_id, s.current_target_id, s.last_heartbeat_at,
         round(extract(epoch from now() - s.last_heartbeat_at), 3),
         s.last_heartbeat_at is null
           or s.last_heartbeat_at < now() - make_interval(secs => coalesce(c.heartbeat_stale_seconds, 60)),
         s.started_at, s.processed_count, s.error_count, s.message, s.paused_reason, s.updated_at
    from public.automation_status s
    left join public.automation_config c on c.id
   order by s.process
$$;
comment on function public.get_automation_status() is
  'Both processes'' status rows with live worker count, heartbeat age and is_stale (no heartbeat, or older than automation_config.heartbeat_stale_seconds).';

-- 5 ---------------------------------------------------------------------------------
create function public.send_automation_command(
  p_process text,
  p_command text,
  p_payload jsonb default '{}'::jsonb,
  p_requested_by text default null
)
returns public.automation_commands
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_command public.automation_commands;
  v_payload jsonb := coalesce(p_payload, '{}'::jsonb);
  v_sub text := nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub';
begin
  if p_process is null or p_process not in ('identification', 'implementation') then
    raise exception 'p_process must be identification or implementation, not %', coalesce(p_process, 'null')
      using errcode = '22023';
  end if;
  if p_command is null or p_command not in ('start', 'stop', 'pause', 'resume', 'run_once', 'reset_stale') then
    raise exception 'p_command must be one of start, stop, pause, resume, run_once, reset_stale, not %',
      coalesce(p_command, 'null') using errcode = '22023';
  end if;
  if jsonb_typeof(v_payload) <> 'object' or length(v_payload::text) > 10000 then
    raise exception 'p_payload must be a JSON object of at most 10000 characters' using errcode = '22023';
  end if;
  if p_requested_by is not null and length(p_requested_by) > 320 then
    raise exception 'p_requested_by is longer than 320 characters' using errcode = '22023';
  end if;

  insert into public.automation_commands (process, command, payload, requested_by)
  values (p_process, p_command, v_payload, p_requested_by)
  returning * into v_command;

  -- every worker of the process reads desired_state, so one command reaches them all
  update public.automation_status s
     set desired_state = case p_command when 'pause' then 'paused' when 'stop' then 'stopped'
                                        else 'running' end,
         paused_reason = case when p_command = 'pause'
                              then coalesce(v_payload ->> 'reason', 'paused by ' || coalesce(p_requested_by, 'an admin'))
                              end,
         updated_at = now()
   where s.process = p_process and p_command in ('start', 'resume', 'pause', 'stop');

  insert into public.admin_audit_log (actor_id, actor_email, action, target, details)
  values (
    case when v_sub ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then v_sub::uuid end,
    case when p_requested_by like '%@%' then p_requested_by end,
    'command_sent', p_process,
    jsonb_build_object('command_id', v_command.id, 'command', p_command, 'payload', v_payload,
                       'requested_by', p_requested_by));
  return v_command;
end
$$;
comment on function public.send_automation_command(text, text, jsonb, text) is
  'Queues a pending command for the workers of a process; start/resume set desired_state running, pause paused, stop stopped; audits command_sent.';

-- 6 ---------------------------------------------------------------------------------
create function public.update_automation_config(p_changes jsonb, p_updated_by text)
returns public.automation_config
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_key text;
  v_value jsonb;
  v_spec record;
  v_before jsonb;
  v_after jsonb;
  v_config public.automation_config;
  v_sub text := nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub';
begin
  if p_changes is null or jsonb_typeof(p_changes) <> 'object' or p_changes = '{}'::jsonb then
    raise exception 'p_changes must be a non-empty JSON object of settings to change' using errcode = '22023';
  end if;
  if p_updated_by is null or length(btrim(p_updated_by)) = 0 or length(p_updated_by) > 320 then
    raise exception 'p_updated_by is required: say who changes the settings (1 to 320 characters)'
      using errcode = '22023';
  end if;
  for v_key, v_value in select e.key, e.value from jsonb_each(p_changes) e loop
    select s.kind, s.lo, s.hi into v_spec
      from (values
        ('identification_enabled', 'boolean', null::numeric, null::numeric),
        ('implementation_enabled', 'boolean', null, null),
        ('outreach_enabled', 'boolean', null, null),
        ('batch_size', 'integer', 1, 1000),
        ('max_attempts', 'integer', 1, 20),
        ('stale_after_minutes', 'integer', 1, 1440),
        ('daily_deploy_limit', 'integer', 0, 10000000),
        ('heartbeat_stale_seconds', 'integer', 5, 3600),
        ('outreach_sweep_minutes', 'integer', 1, 1440),
        ('provider_failure_limit', 'integer', 1, 1000),
        ('bounce_rate_limit', 'number', 0, 1),
        ('pace_seconds', 'number', 0, 3600)
      ) as s (key, kind, lo, hi)
     where s.key = v_key;
    if not found then
      raise exception 'unknown setting "%": known settings are identification_enabled, implementation_enabled, outreach_enabled, batch_size, max_attempts, stale_after_minutes, daily_deploy_limit, heartbeat_stale_seconds, outreach_sweep_minutes, provider_failure_limit, bounce_rate_limit, pace_seconds',
        v_key using errcode = '22023';
    end if;
    if v_spec.kind = 'boolean' and jsonb_typeof(v_value) <> 'boolean' then
      raise exception 'setting "%" must be true or false, not %', v_key, v_value using errcode = '22023';
    end if;
    if v_spec.kind <> 'boolean' then
      if jsonb_typeof(v_value) <> 'number'
         or (v_spec.kind = 'integer' and v_value::text::numeric <> trunc(v_value::text::numeric)) then
        raise exception 'setting "%" must be a%, not %', v_key,
          case v_spec.kind when 'integer' then 'n integer' else ' number' end, v_value
          using errcode = '22023';
      end if;
      if v_value::text::numeric not between v_spec.lo and v_spec.hi then
        raise exception 'setting "%" must be between % and %, not %', v_key, v_spec.lo, v_spec.hi, v_value
          using errcode = '22023';
      end if;
    end if;
  end loop;

  select * into v_config from public.automation_config c where c.id for update;
  if not found then
    raise exception 'automation_config has no row: run the migrations' using errcode = 'P0002';
  end if;
  select jsonb_object_agg(e.key, e.value) into v_before
    from jsonb_each(to_jsonb(v_config)) e where p_changes ? e.key;

  update public.automation_config c set
    identification_enabled = coalesce((p_changes ->> 'identification_enabled')::boolean, c.identification_enabled),
    implementation_enabled = coalesce((p_changes ->> 'implementation_enabled')::boolean, c.implementation_enabled),
    outreach_enabled = coalesce((p_changes ->> 'outreach_enabled')::boolean, c.outreach_enabled),
    batch_size = coalesce((p_changes ->> 'batch_size')::numeric::integer, c.batch_size),
    max_attempts = coalesce((p_changes ->> 'max_attempts')::numeric::integer, c.max_attempts),
    stale_after_minutes = coalesce((p_changes ->> 'stale_after_minutes')::numeric::integer, c.stale_after_minutes),
    daily_deploy_limit = coalesce((p_changes ->> 'daily_deploy_limit')::numeric::integer, c.daily_deploy_limit),
    heartbeat_stale_seconds = coalesce((p_changes ->> 'heartbeat_stale_seconds')::numeric::integer, c.heartbeat_stale_seconds),
    outreach_sweep_minutes = coalesce((p_changes ->> 'outreach_sweep_minutes')::numeric::integer, c.outreach_sweep_minutes),
    provider_failure_limit = coalesce((p_changes ->> 'provider_failure_limit')::numeric::integer, c.provider_failure_limit),
    bounce_rate_limit = coalesce((p_changes ->> 'bounce_rate_limit')::numeric, c.bounce_rate_limit),
    pace_seconds = coalesce((p_changes ->> 'pace_seconds')::numeric, c.pace_seconds),
    updated_by = p_updated_by
  where c.id
  returning * into v_config;
  select jsonb_object_agg(e.key, e.value) into v_after
    from jsonb_each(to_jsonb(v_config)) e where p_changes ? e.key;

  insert into public.admin_audit_log (actor_id, actor_email, action, target, details)
  values (
    case when v_sub ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then v_sub::uuid end,
    case when p_updated_by like '%@%' then p_updated_by end,
    'config_updated', 'automation_config',
    jsonb_build_object('before', v_before, 'after', v_after, 'updated_by', p_updated_by));
  return v_config;
end
$$;
comment on function public.update_automation_config(jsonb, text) is
  'Changes automation settings: every key must be a known setting with the right JSON type and range (else 22023 naming the key, nothing changed); audits config_updated with before/after of the given keys.';

-- 12 --------------------------------------------------------------------------------
create function public.claim_next_command(p_process text, p_worker_id text)
returns setof public.automation_commands
language plpgsql
volatile
security invoker
set search_path = ''
as $$
begin
  if p_process is null or p_process not in ('identification', 'implementation') then
    raise exception 'p_process must be identification or implementation, not %', coalesce(p_process, 'null')
      using errcode = '22023';
  end if;
  if p_worker_id is null or length(btrim(p_worker_id)) = 0 or length(p_worker_id) > 200 then
    raise exception 'p_worker_id is required: pass the worker''s id (1 to 200 characters)'
      using errcode = '22023';
  end if;
  update public.automation_commands c
     set status = 'expired', completed_at = now()
   where c.id in (select e.id from public.automation_commands e
                   where e.status = 'pending' and e.process = p_process and e.expires_at < now()
                   for update skip locked);
  return query
  with next_command as (
    select c.id from public.automation_commands c
     where c.status = 'pending' and c.process = p_process
     order by c.created_at, c.id
     limit 1
     for update skip locked
  )
  update public.automation_commands c
     set status = 'processing', picked_at = now(), picked_by = p_worker_id
    from next_command
   where c.id = next_command.id
  returning c.*;
end
$$;
comment on function public.claim_next_command(text, text) is
  'Expires pending commands of the process past expires_at, then takes the oldest pending one (SKIP LOCKED) and marks it processing for p_worker_id.';

-- 13 --------------------------------------------------------------------------------
create function public.complete_automation_command(
  p_command_id bigint,
  p_status text,
  p_result jsonb default null
)
returns public.automation_commands
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_command public.automation_commands;
begin
  if p_command_id is null then
    raise exception 'p_command_id is required' using errcode = '22004';
  end if;
  if p_status is null or p_status not in ('completed', 'failed') then
    raise exception 'p_status must be completed or failed, not %', coalesce(p_status, 'null')
      using errcode = '22023';
  end if;
  select * into v_command from public.automation_commands c where c.id = p_command_id for update;
  if not found then
    raise exception 'command % not found', p_command_id using errcode = 'P0002';
  end if;
  if v_command.status <> 'processing' then
    raise exception 'command % is %, not processing: only a picked-up command can be completed',
      p_command_id, v_command.status using errcode = '55000';
  end if;
  update public.automation_commands c
     set status = p_status, completed_at = now(), result = p_result
   where c.id = p_command_id
  returning * into v_command;
  return v_command;
end
$$;
comment on function public.complete_automation_command(bigint, text, jsonb) is
  'Closes a processing command as completed or failed with its result; 55000 from any other status.';

-- 14 --------------------------------------------------------------------------------
create function public.report_automation_heartbeat(
  p_process text,
  p_worker_id text,
  p_state text,
  p_message text default null,
  p_current_business_id bigint default null,
  p_current_target_id bigint default null,
  p_processed_delta integer default 0,
  p_error_delta integer default 0
)
returns public.automation_status
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_status public.automation_status;
  v_stale_seconds integer;
  v_workers jsonb;
  v_state text;
begin
  if p_process is null or p_process not in ('identification', 'implementation') then
    raise exception 'p_process must be identification or implementation, not %', coalesce(p_process, 'null')
      using errcode = '22023';
  end if;
  if p_worker_id is null or length(btrim(p_worker_id)) = 0 or length(p_worker_id) > 200 then
    raise exception 'p_worker_id is required: pass the worker''s id (1 to 200 characters)'
      using errcode = '22023';
  end if;
  if p_state is null or p_state not in ('idle', 'running', 'paused', 'stopping', 'error', 'offline') then
    raise exception 'p_state must be one of idle, running, paused, stopping, error, offline, not %',
      coalesce(p_state, 'null') using errcode = '22023';
  end if;
  if coalesce(p_processed_delta, -1) not between 0 and 1000000
     or coalesce(p_error_delta, -1) not between 0 and 1000000 then
    raise exception 'p_processed_delta and p_error_delta must be between 0 and 1000000'
      using errcode = '22023';
  end if;
  if p_message is not null and length(p_message) > 2000 then
    raise exception 'p_message is longer than 2000 characters' using errcode = '22023';
  end if;

  select coalesce((select c.heartbeat_stale_seconds from public.automation_config c where c.id), 60)
    into v_stale_seconds;
  insert into public.automation_status (process) values (p_process) on conflict (process) do nothing;
  select * into v_status from public.automation_status s where s.process = p_process for update;

  -- keep the workers still alive, minus this one, then add it back unless it goes offline
  select coalesce(jsonb_object_agg(w.key, w.value), '{}'::jsonb) into v_workers
    from jsonb_each(v_status.workers) w
   where w.key <> p_worker_id
     and (w.value ->> 'heartbeat_at')::timestamptz >= now() - make_interval(secs => v_stale_seconds);
  if p_state <> 'offline' then
    v_workers := v_workers || jsonb_build_object(p_worker_id, jsonb_build_object(
      'state', p_state, 'heartbeat_at', now(), 'business_id', p_current_business_id));
  end if;
  select case
           when bool_or(w.value ->> 'state' = 'running') then 'running'
           when bool_or(w.value ->> 'state' = 'paused') then 'paused'
           when bool_or(w.value ->> 'state' = 'stopping') then 'stopping'
           when bool_or(w.value ->> 'state' = 'error') then 'error'
           when bool_or(w.value ->> 'state' = 'idle') then 'idle'
           else 'offline' end
    into v_state
    from jsonb_each(v_workers) w;

  update public.automation_status s
     set state = v_state,
         workers = v_workers,
         worker_id = case when p_state = 'offline'
                          then (select k from jsonb_object_keys(v_workers) k order by k limit 1)
                          else p_worker_id end,
         current_business_id = case when p_state = 'offline' then null else p_current_business_id end,
         current_target_id = case when p_state = 'offline' then null else p_current_target_id end,
         last_heartbeat_at = now(),
         started_at = case when v_state = 'offline' then null
                           when s.state = 'offline' or s.started_at is null then now()
                           else s.started_at end,
         processed_count = s.processed_count + p_processed_delta,
         error_count = s.error_count + p_error_delta,
         message = coalesce(p_message, s.message),
         updated_at = now()
   where s.process = p_process
  returning * into v_status;
  return v_status;
end
$$;
comment on function public.report_automation_heartbeat(text, text, text, text, bigint, bigint, integer, integer) is
  'One worker''s heartbeat: upserts it into workers, drops workers past heartbeat_stale_seconds (and this one when offline), sets the aggregate state (running > paused > stopping > error > idle > offline) and adds the counters.';

-- 15 --------------------------------------------------------------------------------
create function public.start_automation_run(
  p_process text,
  p_worker_id text,
  p_trigger text default 'schedule',
  p_command_id bigint default null
)
returns bigint
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_id bigint;
begin
  if p_process is null or p_process not in ('identification', 'implementation') then
    raise exception 'p_process must be identification or implementation, not %', coalesce(p_process, 'null')
      using errcode = '22023';
  end if;
  if p_worker_id is null or length(btrim(p_worker_id)) = 0 or length(p_worker_id) > 200 then
    raise exception 'p_worker_id is required: pass the worker''s id (1 to 200 characters)'
      using errcode = '22023';
  end if;
  if p_trigger is null or p_trigger not in ('schedule', 'command', 'startup', 'manual') then
    raise exception 'p_trigger must be one of schedule, command, startup, manual, not %',
      coalesce(p_trigger, 'null') using errcode = '22023';
  end if;
  if p_command_id is not null
     and not exists (select 1 from public.automation_commands c where c.id = p_command_id) then
    raise exception 'command % not found', p_command_id using errcode = 'P0002';
  end if;
  insert into public.automation_runs (process, trigger, command_id, worker_id)
  values (p_process, p_trigger, p_command_id, p_worker_id)
  returning id into v_id;
  return v_id;
end
$$;
comment on function public.start_automation_run(text, text, text, bigint) is
  'Opens a running automation run for a worker and returns its id.';

-- 16 --------------------------------------------------------------------------------
create function public.finish_automation_run(
  p_run_id bigint,
  p_status text,
  p_items_processed integer default 0,
  p_items_failed integer default 0,
  p_error text default null
)
returns public.automation_runs
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_run public.automation_runs;
begin
  if p_run_id is null then
    raise exception 'p_run_id is required' using errcode = '22004';
  end if;
  if p_status is null or p_status not in ('succeeded', 'failed', 'cancelled') then
    raise exception 'p_status must be succeeded, failed or cancelled, not %', coalesce(p_status, 'null')
      using errcode = '22023';
  end if;
  if coalesce(p_items_processed, -1) < 0 or coalesce(p_items_failed, -1) < 0 then
    raise exception 'p_items_processed and p_items_failed must be 0 or more' using errcode = '22023';
  end if;
  select * into v_run from public.automation_runs r where r.id = p_run_id for update;
  if not found then
    raise exception 'run % not found', p_run_id using errcode = 'P0002';
  end if;
  if v_run.status <> 'running' then
    raise exception 'run % is already %: only a running run can be finished', p_run_id, v_run.status
      using errcode = '55000';
  end if;
  update public.automation_runs r
     set status = p_status, finished_at = now(), items_processed = p_items_processed,
         items_failed = p_items_failed, error = left(p_error, 10000)
   where r.id = p_run_id
  returning * into v_run;
  return v_run;
end
$$;
comment on function public.finish_automation_run(bigint, text, integer, integer, text) is
  'Closes a running run as succeeded, failed or cancelled with its counts; 55000 when the run is not running.';

-- 17 --------------------------------------------------------------------------------
create function public.log_automation_event(
  p_process text,
  p_level text,
  p_message text,
  p_run_id bigint default null,
  p_business_id bigint default null,
  p_metadata jsonb default '{}'::jsonb
)
returns bigint
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_id bigint;
  v_metadata jsonb := coalesce(p_metadata, '{}'::jsonb);
begin
  if p_process is null or p_process not in ('identification', 'implementation', 'outreach', 'payments', 'system') then
    raise exception 'p_process must be one of identification, implementation, outreach, payments, system, not %',
      coalesce(p_process, 'null') using errcode = '22023';
  end if;
  if p_level is null or p_level not in ('debug', 'info', 'warning', 'error') then
    raise exception 'p_level must be one of debug, info, warning, error, not %', coalesce(p_level, 'null')
      using errcode = '22023';
  end if;
  if p_message is null or length(btrim(p_message)) = 0 then
    raise exception 'p_message is required' using errcode = '22023';
  end if;
  if jsonb_typeof(v_metadata) <> 'object' then
    raise exception 'p_metadata must be a JSON object' using errcode = '22023';
  end if;
  if p_run_id is not null and not exists (select 1 from public.automation_runs r where r.id = p_run_id) then
    raise exception 'run % not found', p_run_id using errcode = 'P0002';
  end if;
  if p_business_id is not null
     and not exists (select 1 from public.pipeline_businesses b where b.id = p_business_id) then
    raise exception 'business % not found', p_business_id using errcode = 'P0002';
  end if;
  insert into public.automation_logs (process, level, message, run_id, business_id, metadata)
  values (p_process, p_level,
          case when length(p_message) > 10000 then left(p_message, 9999) || '…' else p_message end,
          p_run_id, p_business_id, v_metadata)
  returning id into v_id;
  return v_id;
end
$$;
comment on function public.log_automation_event(text, text, text, bigint, bigint, jsonb) is
  'Appends a log line (messages over 10000 characters are cut) and returns its id.';

revoke execute on function public.get_automation_status(),
  public.send_automation_command(text, text, jsonb, text),
  public.update_automation_config(jsonb, text),
  public.claim_next_command(text, text),
  public.complete_automation_command(bigint, text, jsonb),
  public.report_automation_heartbeat(text, text, text, text, bigint, bigint, integer, integer),
  public.start_automation_run(text, text, text, bigint),
  public.finish_automation_run(bigint, text, integer, integer, text),
  public.log_automation_event(text, text, text, bigint, bigint, jsonb)
  from public, anon, authenticated;
grant execute on function public.get_automation_status(),
  public.send_automation_command(text, text, jsonb, text),
  public.update_automation_config(jsonb, text),
  public.claim_next_command(text, text),
  public.complete_automation_command(bigint, text, jsonb),
  public.report_automation_heartbeat(text, text, text, text, bigint, bigint, integer, integer),
  public.start_automation_run(text, text, text, bigint),
  public.finish_automation_run(bigint, text, integer, integer, text),
  public.log_automation_event(text, text, text, bigint, bigint, jsonb)
  to service_role;
grant execute on function public.get_automation_status() to authenticated;
