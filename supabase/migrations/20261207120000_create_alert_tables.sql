-- Alerts: rules, the alerts they raise, and the outbox of messages to deliver.
-- Private server state (like the auth tables): PostgREST does not expose
-- admin_private, RLS is on and nothing is granted to anon or authenticated, so the
-- public API keeps its 12 tables. Every time used in a check is passed in by the
-- server (its clock), so that tests can control time.

create table admin_private.alert_rules (
  kind text primary key check (kind in (
    'worker_silent', 'process_not_running', 'queue_oldest', 'failure_spike',
    'webhooks_silent', 'bounce_rate')),
  enabled boolean not null default true,
  threshold numeric not null check (threshold >= 0 and threshold <= 1000000),
  window_minutes integer not null default 15 check (window_minutes between 1 and 10080),
  for_minutes integer not null default 0 check (for_minutes between 0 and 10080),
  cooldown_minutes integer not null default 1 check (cooldown_minutes between 0 and 10080),
  reminder_minutes integer not null default 60 check (reminder_minutes between 1 and 10080),
  channels text[] not null default array['email', 'webhook']
    check (channels <@ array['email', 'webhook']::text[]),
  email_to text[] not null default '{}',
  muted_until timestamptz,
  updated_at timestamptz not null default now(),
  updated_by text
);
alter table admin_private.alert_rules enable row level security;
comment on table admin_private.alert_rules is
  'One alert rule per kind: threshold, window, how long the condition must last, cooldown, reminder interval, channels, mute.';

create table admin_private.alerts (
  id bigint generated always as identity primary key,
  kind text not null references admin_private.alert_rules (kind) on delete cascade,
  subject text not null check (length(subject) between 1 and 200),
  status text not null check (status in ('pending', 'firing', 'resolved')),
  title text not null,
  details jsonb not null default '{}',
  href text not null default '/',
  condition_since timestamptz not null,
  fired_at timestamptz,
  clear_since timestamptz,
  last_message_at timestamptz,
  notified boolean not null default false,
  resolved_at timestamptz,
  acked_at timestamptz,
  acked_by text,
  created_at timestamptz not null default now()
);
alter table admin_private.alerts enable row level security;
-- One open (pending or firing) alert per rule and subject, whatever the instances do.
create unique index alerts_one_open_idx on admin_private.alerts (kind, subject)
  where status <> 'resolved';
create index alerts_recent_idx on admin_private.alerts (id desc);
comment on table admin_private.alerts is
  'Alerts: pending while a condition waits out for_minutes, firing, then resolved; acked alerts send no reminders.';

create table admin_private.alert_outbox (
  id bigint generated always as identity primary key,
  alert_id bigint not null references admin_private.alerts (id) on delete cascade,
  message text not null check (message in ('firing', 'reminder', 'resolved')),
  channel text not null check (channel in ('email', 'webhook', 'folder')),
  recipients text[] not null default '{}',
  subject text not null,
  body text not null,
  payload jsonb not null default '{}',
  status text not null default 'pending' check (status in ('pending', 'sent', 'failed')),
  attempts integer not null default 0,
  next_attempt_at timestamptz not null,
  last_error text,
  created_at timestamptz not null,
  sent_at timestamptz
);
alter table admin_private.alert_outbox enable row level security;
create index alert_outbox_due_idx on admin_private.alert_outbox (next_attempt_at)
  where status = 'pending';
create index alert_outbox_alert_idx on admin_private.alert_outbox (alert_id);
comment on table admin_private.alert_outbox is
  'Messages to deliver, kept until sent (a restart loses none); retried with backoff, then failed.';

revoke all on all tables in schema admin_private from anon, authenticated;
revoke all on all sequences in schema admin_private from anon, authenticated;
