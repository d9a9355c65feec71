-- send_automation_command (RPC 5) now audits the process's desired_state before and
-- after the command, so the audit log shows what each command changed
-- (details.before / details.after), as update_automation_config already does for
-- settings. Same signature, validation, behaviour, search_path and security; grants
-- and the comment are kept by `create or replace`.

create or replace function public.send_automation_command(
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
  v_before jsonb;
  v_after jsonb;
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

  -- lock the status row so before/after describe this command alone
  select jsonb_build_object('desired_state', s.desired_state, 'paused_reason', s.paused_reason)
    into v_before
    from public.automation_status s
   where s.process = p_process
     for update;

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

  select jsonb_build_object('desired_state', s.desired_state, 'paused_reason', s.paused_reason)
    into v_after
    from public.automation_status s
   where s.process = p_process;

  insert into public.admin_audit_log (actor_id, actor_email, action, target, details)
  values (
    case when v_sub ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then v_sub::uuid end,
    case when p_requested_by like '%@%' then p_requested_by end,
    'command_sent', p_process,
    jsonb_build_object('command_id', v_command.id, 'command', p_command, 'payload', v_payload,
                       'requested_by', p_requested_by,
                       -- a process that never reported has no status row yet: null state
                       'before', coalesce(v_before, '{"desired_state": null, "paused_reason": null}'::jsonb),
                       'after', coalesce(v_after, '{"desired_state": null, "paused_reason": null}'::jsonb)));
  return v_command;
end
$$;
