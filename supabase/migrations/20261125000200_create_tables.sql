-- The 12 API tables of schema public, with RLS enabled in the same migration that
-- creates each table, their indexes, and the hardened grants: anon gets nothing,
-- authenticated reads the automation tables, identification_targets and
-- pipeline_businesses only at aal2, service_role does everything.

-- identification_targets --------------------------------------------------------
create table public.identification_targets (
  id bigint generated always as identity primary key,
  position integer not null unique check (position >= 1),
  city text not null check (length(btrim(city)) between 1 and 200),
  region text not null check (length(btrim(region)) between 1 and 200),
  category text not null check (length(btrim(category)) between 1 and 200),
  status text not null default 'pending'
    check (status in ('pending', 'in_progress', 'done', 'skipped')),
  businesses_found integer not null default 0 check (businesses_found >= 0),
  started_at timestamptz,
  completed_at timestamptz,
  created_at timestamptz not null default now(),
  unique (city, region, category)
);
alter table public.identification_targets enable row level security;
create index identification_targets_status_position_idx
  on public.identification_targets (status, position);
comment on table public.identification_targets is
  'The ordered search grid (city x category) that identification walks, one position at a time.';

-- pipeline_businesses -----------------------------------------------------------
create table public.pipeline_businesses (
  id bigint generated always as identity primary key,
  place_id text not null unique check (length(btrim(place_id)) between 1 and 300),
  name text not null check (length(btrim(name)) between 1 and 300),
  category text not null check (length(btrim(category)) between 1 and 200),
  city text not null check (length(btrim(city)) between 1 and 200),
  region text not null check (length(btrim(region)) between 1 and 200),
  address text,
  phone text,
  email text,
  rating numeric(2, 1) check (rating between 0 and 5),
  review_count integer check (review_count >= 0),
  target_id bigint references public.identification_targets (id) on delete set null,
  status text not null default 'queued'
    check (status in ('queued', 'started', 'deployed', 'failed', 'skipped')),
  priority integer not null default 0 check (priority between -1000 and 1000),
  attempts integer not null default 0 check (attempts >= 0),
  last_error text,
  claimed_by text,
  claim_token uuid,
  started_at timestamptz,
  finished_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
alter table public.pipeline_businesses enable row level security;
-- claim_next_business: next queued row by priority, then age.
create index pipeline_businesses_queue_idx
  on public.pipeline_businesses (priority desc, created_at, id) where status = 'queued';
-- reset_stale_started_businesses and the stale count in v_queue_status.
create index pipeline_businesses_started_idx
  on public.pipeline_businesses (started_at) where status = 'started';
-- status counts, throughput (finished per hour) and keyset paging by status.
create index pipeline_businesses_status_id_idx on public.pipeline_businesses (status, id);
-- today's deploys (claim_next_business's daily limit) and finished-per-hour, index-only.
create index pipeline_businesses_finished_idx
  on public.pipeline_businesses (status, finished_at) where finished_at is not null;
-- oldest/newest per status (v_queue_status) and identified-per-hour (status in all five).
create index pipeline_businesses_status_created_idx
  on public.pipeline_businesses (status, created_at);
-- de-duplication per target location (get_existing_businesses_for_target) and city search.
create index pipeline_businesses_location_idx
  on public.pipeline_businesses (lower(city), region, category);
create index pipeline_businesses_target_id_idx on public.pipeline_businesses (target_id);
create index pipeline_businesses_name_trgm_idx
  on public.pipeline_businesses using gin (name extensions.gin_trgm_ops);
comment on table public.pipeline_businesses is
  'Businesses found by identification, waiting for or going through implementation.';
comment on column public.pipeline_businesses.claim_token is
  'Fencing token: set at each claim; only the holder of the current token may finish the row.';

-- qualified_businesses ----------------------------------------------------------
create table public.qualified_businesses (
  id bigint generated always as identity primary key,
  uuid text not null unique check (uuid ~ '^[a-z0-9]{8}$'),
  pipeline_business_id bigint not null unique
    references public.pipeline_businesses (id) on delete restrict,
  place_id text not null,
  name text not null,
  category text not null,
  city text not null,
  region text not null,
  address text,
  phone text,
  email text,
  preview_url text not null check (length(preview_url) between 1 and 2000),
  site_status text not null default 'deployed'
    check (site_status in ('deployed', 'active', 'suspended')),
  deployed_at timestamptz not null default now(),
  activated_at timestamptz,
  activation_error text,
  outreach_status text not null default 'pending'
    check (outreach_status in ('pending', 'starting', 'started', 'replied', 'bounced',
                               'unsubscribed', 'stopped', 'failed', 'skipped')),
  outreach_campaign_id text,
  outreach_lead_id text,
  outreach_started_at timestamptz,
  outreach_last_event_at timestamptz,
  outreach_error text,
  outreach_attempts integer not null default 0 check (outreach_attempts >= 0),
  claimed boolean not null default false,
  claimed_at timestamptz,
  stripe_payment_id text,
  stripe_customer_id text,
  customer_email text,
  review_reason text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint qualified_businesses_claim_consistent check (claimed = (claimed_at is not null))
);
alter table public.qualified_businesses enable row level security;
create index qualified_businesses_deployed_at_idx on public.qualified_businesses (deployed_at);
create index qualified_businesses_claimed_at_idx
  on public.qualified_businesses (claimed_at) where claimed;
create index qualified_businesses_outreach_pending_idx
  on public.qualified_businesses (deployed_at) where outreach_status = 'pending';
create index qualified_businesses_outreach_status_idx
  on public.qualified_businesses (outreach_status, id);
create index qualified_businesses_name_trgm_idx
  on public.qualified_businesses using gin (name extensions.gin_trgm_ops);
create index qualified_businesses_review_idx
  on public.qualified_businesses (id) where review_reason is not null;
comment on table public.qualified_businesses is
  'Businesses whose site is deployed: public 8-char uuid, preview, outreach and payment state.';
comment on column public.qualified_businesses.uuid is
  'Short public id (8 lowercase letters or digits) used in site URLs and Stripe client_reference_id.';

-- automation_config -------------------------------------------------------------
create table public.automation_config (
  id boolean primary key default true check (id),
  identification_enabled boolean not null default true,
  implementation_enabled boolean not null default true,
  outreach_enabled boolean not null default true,
  batch_size integer not null default 10 check (batch_size between 1 and 1000),
  max_attempts integer not null default 3 check (max_attempts between 1 and 20),
  stale_after_minutes integer not null default 15 check (stale_after_minutes between 1 and 1440),
  daily_deploy_limit integer not null default 500
    check (daily_deploy_limit between 0 and 10000000),
  heartbeat_stale_seconds integer not null default 60
    check (heartbeat_stale_seconds between 5 and 3600),
  outreach_sweep_minutes integer not null default 1
    check (outreach_sweep_minutes between 1 and 1440),
  bounce_rate_limit numeric(4, 3) not null default 0.200
    check (bounce_rate_limit between 0 and 1),
  provider_failure_limit integer not null default 5
    check (provider_failure_limit between 1 and 1000),
  pace_seconds numeric(8, 2) not null default 0 check (pace_seconds between 0 and 3600),
  updated_at timestamptz not null default now(),
  updated_by text
);
alter table public.automation_config enable row level security;
insert into public.automation_config default values;
comment on table public.automation_config is
  'The one row of automation settings; change it only through update_automation_config.';

-- automation_status -------------------------------------------------------------
create table public.automation_status (
  process text primary key check (process in ('identification', 'implementation')),
  state text not null default 'offline'
    check (state in ('idle', 'running', 'paused', 'stopping', 'error', 'offline')),
  desired_state text not null default 'running'
    check (desired_state in ('running', 'paused', 'stopped')),
  worker_id text,
  workers jsonb not null default '{}'::jsonb,
  current_business_id bigint,
  current_target_id bigint,
  last_heartbeat_at timestamptz,
  started_at timestamptz,
  processed_count bigint not null default 0 check (processed_count >= 0),
  error_count bigint not null default 0 check (error_count >= 0),
  message text,
  paused_reason text,
  updated_at timestamptz not null default now()
);
alter table public.automation_status enable row level security;
insert into public.automation_status (process) values ('identification'), ('implementation');
comment on table public.automation_status is
  'One row per process: what its workers report (heartbeat, state) and what admins asked for (desired_state).';
comment on column public.automation_status.workers is
  'Live workers of this process: {worker_id: {"state", "heartbeat_at", "business_id"}}.';

-- automation_commands -----------------------------------------------------------
create table public.automation_commands (
  id bigint generated always as identity primary key,
  process text not null check (process in ('identification', 'implementation')),
  command text not null
    check (command in ('start', 'stop', 'pause', 'resume', 'run_once', 'reset_stale')),
  payload jsonb not null default '{}'::jsonb check (jsonb_typeof(payload) = 'object'),
  status text not null default 'pending'
    check (status in ('pending', 'processing', 'completed', 'failed', 'expired')),
  requested_by text,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null default now() + interval '10 minutes',
  picked_at timestamptz,
  picked_by text,
  completed_at timestamptz,
  result jsonb
);
alter table public.automation_commands enable row level security;
create index automation_commands_pending_idx
  on public.automation_commands (process, created_at) where status = 'pending';
create index automation_commands_created_idx on public.automation_commands (created_at desc);
comment on table public.automation_commands is
  'Commands from admins to the workers; workers take them with claim_next_command.';

-- automation_runs ---------------------------------------------------------------
create table public.automation_runs (
  id bigint generated always as identity primary key,
  process text not null check (process in ('identification', 'implementation')),
  trigger text not null default 'schedule'
    check (trigger in ('schedule', 'command', 'startup', 'manual')),
  command_id bigint references public.automation_commands (id) on delete set null,
  worker_id text,
  status text not null default 'running'
    check (status in ('running', 'succeeded', 'failed', 'cancelled')),
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  items_processed integer not null default 0 check (items_processed >= 0),
  items_failed integer not null default 0 check (items_failed >= 0),
  error text
);
alter table public.automation_runs enable row level security;
create index automation_runs_started_idx on public.automation_runs (started_at desc, id desc);
create index automation_runs_process_started_idx
  on public.automation_runs (process, started_at desc);
create index automation_runs_command_id_idx on public.automation_runs (command_id);
create index automation_runs_running_idx on public.automation_runs (worker_id) where status = 'running';
comment on table public.automation_runs is 'One row per worker run of a process.';

-- automation_logs ---------------------------------------------------------------
create table public.automation_logs (
  id bigint generated always as identity primary key,
  created_at timestamptz not null default now(),
  process text not null
    check (process in ('identification', 'implementation', 'outreach', 'payments', 'system')),
  level text not null check (level in ('debug', 'info', 'warning', 'error')),
  message text not null check (length(message) between 1 and 10000),
  run_id bigint references public.automation_runs (id) on delete set null,
  business_id bigint references public.pipeline_businesses (id) on delete set null,
  metadata jsonb not null default '{}'::jsonb check (jsonb_typeof(metadata) = 'object')
);
alter table public.automation_logs enable row level security;
create index automation_logs_process_id_idx on public.automation_logs (process, id desc);
create index automation_logs_level_id_idx on public.automation_logs (level, id desc);
create index automation_logs_run_id_idx on public.automation_logs (run_id);
create index automation_logs_business_id_idx on public.automation_logs (business_id);
create index automation_logs_created_idx on public.automation_logs (created_at);
create index automation_logs_message_trgm_idx
  on public.automation_logs using gin (message extensions.gin_trgm_ops);
comment on table public.automation_logs is 'Append-only log lines from workers and the app.';

-- stripe_events -----------------------------------------------------------------
create table public.stripe_events (
  id text primary key check (length(id) between 1 and 255),
  type text not null,
  payload jsonb not null,
  created timestamptz,
  received_at timestamptz not null default now(),
  processed_at timestamptz,
  status text not null default 'received'
    check (status in ('received', 'processing', 'processed', 'failed', 'ignored')),
  attempts integer not null default 0 check (attempts >= 0),
  error text,
  qualified_business_id bigint references public.qualified_businesses (id) on delete set null
);
alter table public.stripe_events enable row level security;
create index stripe_events_qualified_business_id_idx on public.stripe_events (qualified_business_id);
create index stripe_events_unfinished_idx
  on public.stripe_events (received_at) where status in ('received', 'processing', 'failed');
comment on table public.stripe_events is 'Every Stripe webhook event, stored once by its event id.';

-- stripe_idempotency ------------------------------------------------------------
create table public.stripe_idempotency (
  key text primary key check (length(key) between 1 and 300),
  event_id text references public.stripe_events (id) on delete cascade,
  side_effect text not null,
  result jsonb,
  created_at timestamptz not null default now()
);
alter table public.stripe_idempotency enable row level security;
create index stripe_idempotency_event_id_idx on public.stripe_idempotency (event_id);
comment on table public.stripe_idempotency is
  'One row per side effect of a payment (claim, activate, stop campaign), so each happens once.';

-- outreach_events ---------------------------------------------------------------
create table public.outreach_events (
  id bigint generated always as identity primary key,
  provider text not null default 'smartlead',
  provider_event_id text not null check (length(provider_event_id) between 1 and 300),
  qualified_business_id bigint references public.qualified_businesses (id) on delete set null,
  event_type text not null check (length(event_type) between 1 and 100),
  payload jsonb not null default '{}'::jsonb,
  occurred_at timestamptz,
  received_at timestamptz not null default now(),
  unique (provider, provider_event_id)
);
alter table public.outreach_events enable row level security;
create index outreach_events_qualified_business_id_idx
  on public.outreach_events (qualified_business_id, occurred_at);
create index outreach_events_type_received_idx on public.outreach_events (event_type, received_at);
comment on table public.outreach_events is 'Outreach provider events, each stored once by provider event id.';

-- admin_audit_log ---------------------------------------------------------------
create table public.admin_audit_log (
  id bigint generated always as identity primary key,
  actor_id uuid,
  actor_email text,
  action text not null check (length(action) between 1 and 100),
  target text,
  details jsonb not null default '{}'::jsonb,
  ip inet,
  user_agent text,
  created_at timestamptz not null default now()
);
alter table public.admin_audit_log enable row level security;
create index admin_audit_log_created_idx on public.admin_audit_log (created_at desc, id desc);
create index admin_audit_log_action_id_idx on public.admin_audit_log (action, id desc);
create index admin_audit_log_actor_id_idx on public.admin_audit_log (actor_id, id desc);
comment on table public.admin_audit_log is
  'Append-only trail of admin actions: logins, MFA events, commands, config changes.';

-- Grants: Supabase granted everything to anon and authenticated by default; take it back.
revoke all on all tables in schema public from anon, authenticated;
revoke all on all sequences in schema public from anon, authenticated;
grant select on public.automation_config, public.automation_status, public.automation_commands,
  public.automation_runs, public.automation_logs, public.identification_targets,
  public.pipeline_businesses to authenticated;
-- The audit log is append-only for everyone but its owner.
revoke update, delete, truncate on public.admin_audit_log from service_role;

-- Policies: one permissive (signed in) and one restrictive (aal2) per readable table.
do $$
declare
  v_table text;
begin
  foreach v_table in array array['automation_config', 'automation_status', 'automation_commands',
    'automation_runs', 'automation_logs', 'identification_targets', 'pipeline_businesses']
  loop
    execute format(
      'create policy "Signed-in admins can read %1$s" on public.%1$I for select to authenticated using ((select auth.uid()) is not null)',
      v_table);
    execute format(
      'create policy "Reading %1$s requires MFA (aal2)" on public.%1$I as restrictive for select to authenticated using (((select auth.jwt()) ->> ''aal'') = ''aal2'')',
      v_table);
    execute format(
      'comment on policy "Signed-in admins can read %1$s" on public.%1$I is %2$L',
      v_table, 'Admins signed in with a user id may read; the restrictive policy adds the MFA check.');
    execute format(
      'comment on policy "Reading %1$s requires MFA (aal2)" on public.%1$I is %2$L',
      v_table, 'Restrictive: without a verified second factor (aal2) no row is visible.');
  end loop;
end
$$;

-- Realtime: the dashboard watches these tables.
alter publication supabase_realtime add table
  public.automation_config, public.automation_status, public.automation_commands,
  public.automation_runs, public.automation_logs, public.identification_targets,
  public.pipeline_businesses, public.qualified_businesses, public.outreach_events,
  public.stripe_events, public.admin_audit_log;
