-- report_automation_heartbeat (RPC 14) closes the open runs of the workers it drops for
-- silence.
--
-- Why: a worker killed mid-run (kill -9, a lost machine) never calls
-- finish_automation_run, so its run stayed `running` for good, on the dashboard's runs
-- table and in `cliftonsites status`, long after the worker was gone. The kill drill
-- (tests/test_drills.py) leaves five such runs.
--
-- How: the heartbeat already drops the workers whose last heartbeat is older than
-- heartbeat_stale_seconds from automation_status.workers. The same heartbeat now ends
-- those workers' `running` runs of the same process as `failed`, with finished_at and an
-- error that says why and which worker's heartbeat closed them. Worker ids are unique per
-- process start, so a restarted worker never owns an older run. A worker that was only
-- cut off (longer than heartbeat_stale_seconds) and comes back finds its run closed: its
-- finish_automation_run gets 55000, which the worker logs and goes on.

create or replace function public.report_automation_heartbeat(
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
  v_silent text[];
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

  -- keep the workers still alive, minus this one, then add it back unless it goes offline;
  -- the others are silent: their runs of this process still open end as failed below (a
  -- killed worker never closes its own)
  select coalesce(jsonb_object_agg(w.key, w.value) filter (where w.alive), '{}'::jsonb),
         array_agg(w.key) filter (where not w.alive)
    into v_workers, v_silent
    from (select e.key, e.value,
                 coalesce((e.value ->> 'heartbeat_at')::timestamptz
                          >= now() - make_interval(secs => v_stale_seconds), false) as alive
            from jsonb_each(v_status.workers) e
           where e.key <> p_worker_id) w;
  if v_silent is not null then
    update public.automation_runs r
       set status = 'failed', finished_at = now(),
           error = format('the worker stopped sending heartbeats (none for over %s s): closed by worker %s''s heartbeat',
                          v_stale_seconds, p_worker_id)
     where r.status = 'running' and r.process = p_process and r.worker_id = any (v_silent);
  end if;
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
  'One worker''s heartbeat: upserts it into workers, drops workers past heartbeat_stale_seconds (and this one when offline) and ends their running runs of this process as failed, sets the aggregate state (running > paused > stopping > error > idle > offline) and adds the counters.';
