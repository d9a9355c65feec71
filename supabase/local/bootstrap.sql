-- Local bootstrap: what a Supabase project provides and plain PostgreSQL lacks.
-- Applied by `cliftonsites db migrate` only where Supabase's own pieces are missing;
-- never pushed to Supabase. Idempotent. Nothing here lands in schema public.

do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
end
$$;

create schema if not exists auth;
create schema if not exists extensions;
create schema if not exists realtime;
create schema if not exists supabase_migrations;

create table if not exists supabase_migrations.schema_migrations (
  version text primary key,
  statements text[],
  name text
);

-- Supabase's default privileges on public: everything to all three API roles, so a
-- migration that forgets a REVOKE fails here just as it would there.
grant usage on schema public to anon, authenticated, service_role;
grant usage on schema extensions to anon, authenticated, service_role;
grant usage on schema auth to anon, authenticated, service_role;
alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public grant all on functions to anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;

-- auth: the Supabase-shaped tables the local auth provider works over.
create table if not exists auth.users (
  id uuid primary key default gen_random_uuid(),
  email text not null unique,
  encrypted_password text not null,
  role text not null default 'authenticated',
  email_confirmed_at timestamptz default now(),
  last_sign_in_at timestamptz,
  banned_until timestamptz,
  raw_app_meta_data jsonb not null default '{}'::jsonb,
  raw_user_meta_data jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table if not exists auth.mfa_factors (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  friendly_name text,
  factor_type text not null default 'totp' check (factor_type = 'totp'),
  status text not null default 'unverified' check (status in ('unverified', 'verified')),
  secret text not null,
  last_challenged_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index if not exists mfa_factors_user_id_idx on auth.mfa_factors (user_id);

create table if not exists auth.sessions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  factor_id uuid references auth.mfa_factors (id) on delete set null,
  aal text not null default 'aal1' check (aal in ('aal1', 'aal2')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  refreshed_at timestamptz,
  not_after timestamptz,
  user_agent text,
  ip inet,
  tag text
);
create index if not exists sessions_user_id_idx on auth.sessions (user_id);

do $$
begin
  if not exists (select 1 from pg_proc where proname = 'jwt' and pronamespace = 'auth'::regnamespace) then
    create function auth.jwt() returns jsonb
      language sql stable set search_path = ''
      as $f$ select coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb $f$;
  end if;
  if not exists (select 1 from pg_proc where proname = 'uid' and pronamespace = 'auth'::regnamespace) then
    create function auth.uid() returns uuid
      language sql stable set search_path = ''
      as $f$ select nullif(auth.jwt() ->> 'sub', '')::uuid $f$;
  end if;
  if not exists (select 1 from pg_proc where proname = 'role' and pronamespace = 'auth'::regnamespace) then
    create function auth.role() returns text
      language sql stable set search_path = ''
      as $f$ select nullif(auth.jwt() ->> 'role', '') $f$;
  end if;
end
$$;
grant execute on function auth.jwt(), auth.uid(), auth.role() to anon, authenticated, service_role;

do $$
begin
  if not exists (select 1 from pg_publication where pubname = 'supabase_realtime') then
    create publication supabase_realtime;
  end if;
end
$$;

-- Stand-in for Realtime's WAL reader: one NOTIFY per statement on channel
-- 'cs_changes', with a small payload (table, op, up to 50 ids, row count).
--
-- Coalescing (trigger argument = a window in ms; after_migrations.sql gives one to the
-- claim path, UPDATE on pipeline_businesses). A transaction that has NOTIFYed takes a
-- server-wide lock at commit and holds it through its WAL flush, so NOTIFYing commits
-- happen one at a time (16 claiming clients: ~200 commits/s instead of ~1,000). With a
-- window, only the first statement per window NOTIFYs (its payload carries
-- "coalesce": <ms>); the others skip it. None is lost: every coalescing statement first
-- takes advisory lock (7453, 1) in SHARED mode (held to the end of its transaction,
-- released only once its commit is visible) and then counts itself in
-- realtime.cs_coalesce_skipped. The listener (dashboard/live/postgres_source.py) reads
-- that counter `window` ms after such a notice and on every idle probe, and then tries
-- the lock in EXCLUSIVE mode without waiting: success means every counted statement has
-- committed or rolled back, so one more change (ids unknown) makes the bus re-read and
-- see them all; failure means it tries again shortly. Shared holders never wait.
create sequence if not exists realtime.cs_coalesce_skipped;
create sequence if not exists realtime.cs_coalesce_lead;
comment on sequence realtime.cs_coalesce_skipped is
  'Coalesced cs_changes: statements counted (before deciding whether to NOTIFY).';
comment on sequence realtime.cs_coalesce_lead is
  'Coalesced cs_changes: clock (ms since epoch) of the last statement that NOTIFYed.';

create or replace function realtime.cs_notify_change() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  v_ids jsonb;
  v_n bigint;
  v_window integer := case when tg_nargs > 0 then tg_argv[0]::integer else 0 end;
  v_now bigint;
  v_payload jsonb;
begin
  if v_window > 0 then  -- only INSERT and UPDATE triggers pass a window (they have new_rows)
    if not exists (select 1 from new_rows) then
      return null;
    end if;
    perform pg_catalog.pg_advisory_xact_lock_shared(7453, 1);
    perform pg_catalog.nextval('realtime.cs_coalesce_skipped');
    v_now := (extract(epoch from pg_catalog.clock_timestamp()) * 1000)::bigint;
    if v_now - coalesce(pg_catalog.pg_sequence_last_value('realtime.cs_coalesce_lead'), 0)
       < v_window then
      return null;  -- a NOTIFY went out within the window: the trailing check covers this
    end if;
    perform pg_catalog.setval('realtime.cs_coalesce_lead', v_now);
  end if;
  if tg_op = 'DELETE' then
    select coalesce(jsonb_agg(x.id), '[]'::jsonb) into v_ids
      from (select to_jsonb(o) -> 'id' as id from old_rows o limit 50) x;
    select count(*) into v_n from old_rows;
  else
    select coalesce(jsonb_agg(x.id), '[]'::jsonb) into v_ids
      from (select to_jsonb(n) -> 'id' as id from new_rows n limit 50) x;
    select count(*) into v_n from new_rows;
  end if;
  if v_n > 0 then
    v_payload := jsonb_build_object('table', tg_table_name, 'op', tg_op, 'ids', v_ids, 'n', v_n);
    if v_window > 0 then
      v_payload := v_payload || jsonb_build_object('coalesce', v_window);
    end if;
    perform pg_notify('cs_changes', v_payload::text);
  end if;
  return null;
end
$$;
comment on function realtime.cs_notify_change() is
  'Local stand-in for Supabase Realtime: NOTIFY cs_changes once per statement on published tables, or once per window when the trigger passes one (see the comment above it).';
revoke execute on function realtime.cs_notify_change() from public;
