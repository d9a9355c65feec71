-- The 5 triggers and their 3 trigger functions. Trigger functions are executable by no
-- API role: only the owner (a trigger fires without an EXECUTE check on its function).

-- 1 outreach_on_deployed --------------------------------------------------------------
create function public.outreach_on_deployed()
returns trigger
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_payload jsonb;
  v_url text := nullif(current_setting('app.settings.outreach_trigger_url', true), '');
  v_secret text := coalesce(current_setting('app.settings.outreach_trigger_secret', true), '');
begin
  if new.site_status <> 'deployed' or new.outreach_status <> 'pending'
     or (tg_op = 'UPDATE' and old.site_status is not distinct from new.site_status)
     or not exists (select 1 from public.automation_config c where c.id and c.outreach_enabled) then
    return null;
  end if;
  v_payload := jsonb_build_object('qualified_business_id', new.id, 'uuid', new.uuid);
  if v_url is not null and exists (
       select 1 from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'net' and p.proname = 'http_post') then
    -- Supabase with pg_net: an asynchronous POST, sent after commit by pg_net's worker
    execute 'select net.http_post(url := $1, body := $2, headers := $3)'
      using v_url, v_payload,
            jsonb_build_object('Content-Type', 'application/json',
                               'Authorization', 'Bearer ' || v_secret);
  else
    perform pg_notify('outreach_start', v_payload::text);
  end if;
  return null;
end
$$;
comment on function public.outreach_on_deployed() is
  'Trigger function of outreach_on_deployed: asks the app to start outreach for a newly deployed business (pg_net POST to app.settings.outreach_trigger_url when available, else NOTIFY outreach_start).';

create trigger outreach_on_deployed
  after insert or update of site_status on public.qualified_businesses
  for each row execute function public.outreach_on_deployed();
comment on trigger outreach_on_deployed on public.qualified_businesses is
  'When a site is deployed, outreach is enabled and pending: POST /api/outreach/start-campaign through pg_net, or NOTIFY outreach_start locally. A sweeper in the app starts any that stayed pending.';

-- 2-4 updated_at ----------------------------------------------------------------------
create function public.set_updated_at()
returns trigger
language plpgsql
security invoker
set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end
$$;
comment on function public.set_updated_at() is
  'Trigger function: sets updated_at to now() before each update.';

create trigger pipeline_businesses_set_updated_at
  before update on public.pipeline_businesses
  for each row execute function public.set_updated_at();
comment on trigger pipeline_businesses_set_updated_at on public.pipeline_businesses is
  'Keeps updated_at current on every update.';

create trigger qualified_businesses_set_updated_at
  before update on public.qualified_businesses
  for each row execute function public.set_updated_at();
comment on trigger qualified_businesses_set_updated_at on public.qualified_businesses is
  'Keeps updated_at current on every update.';

create trigger automation_config_set_updated_at
  before update on public.automation_config
  for each row execute function public.set_updated_at();
comment on trigger automation_config_set_updated_at on public.automation_config is
  'Keeps updated_at current on every update.';

-- 5 automation_commands_notify ----------------------------------------------------------
create function public.notify_automation_command()
returns trigger
language plpgsql
security invoker
set search_path = ''
as $$
begin
  perform pg_notify('automation_commands', jsonb_build_object(
    'id', new.id, 'process', new.process, 'command', new.command)::text);
  return null;
end
$$;
comment on function public.notify_automation_command() is
  'Trigger function of automation_commands_notify: NOTIFY automation_commands with the new command''s id, process and command.';

create trigger automation_commands_notify
  after insert on public.automation_commands
  for each row execute function public.notify_automation_command();
comment on trigger automation_commands_notify on public.automation_commands is
  'Wakes the workers at once (NOTIFY automation_commands) instead of letting them poll.';

revoke execute on function public.outreach_on_deployed(), public.set_updated_at(),
  public.notify_automation_command()
  from public, anon, authenticated, service_role;
