-- admin_private: state that only the app's own server needs for admin sign-in.
-- PostgREST does not expose this schema; RLS is on and nothing is granted to anon or
-- authenticated, so only the owner (the server's database role) reaches it, here and on
-- Supabase. Every time used in a check is passed in by the server (its clock), so that
-- tests can freeze time; the defaults only fill rows written by hand.

create schema if not exists admin_private;
revoke all on schema admin_private from public;
comment on schema admin_private is
  'Private server-side auth state: sessions, throttle counters, recovery codes, TOTP steps.';

-- Sessions: our own cookie token, stored only as its SHA-256. A row is one session id;
-- rotation (at login and at MFA) revokes the row and starts a new one.
create table admin_private.sessions (
  id uuid primary key default gen_random_uuid(),
  token_hash bytea unique,
  user_id uuid not null references auth.users (id) on delete cascade,
  email text not null,
  aal text not null default 'aal1' check (aal in ('aal1', 'aal2')),
  factor_id uuid,
  authenticated_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  expires_at timestamptz not null,
  handoff_hash bytea unique,
  handoff_expires_at timestamptz,
  handoff_binding text,
  handoff_next text,
  revoked_at timestamptz,
  revoked_reason text,
  rotated_from uuid,
  provider_state text,
  ip inet,
  user_agent text,
  check (token_hash is not null or handoff_hash is not null or revoked_at is not null)
);
alter table admin_private.sessions enable row level security;
create index sessions_user_id_idx on admin_private.sessions (user_id, created_at desc);
comment on table admin_private.sessions is
  'Admin sessions: token hash, assurance level, idle and absolute expiry, revocation; a one-time handoff ticket turns into the cookie token.';
comment on column admin_private.sessions.provider_state is
  'Fernet-encrypted JSON the auth provider keeps per session (e.g. Supabase tokens).';

-- Failed attempts, one row per failure, counted over a sliding window per key
-- (`account:<email>`, `address:<ip>`). A pending row is reserved before a check runs,
-- under an advisory lock, so concurrent guesses cannot exceed the limit.
create table admin_private.auth_failures (
  id bigint generated always as identity primary key,
  key text not null check (length(key) between 1 and 400),
  kind text not null check (kind in ('password', 'code')),
  at timestamptz not null default now(),
  pending boolean not null default true
);
alter table admin_private.auth_failures enable row level security;
create index auth_failures_key_at_idx on admin_private.auth_failures (key, at);
comment on table admin_private.auth_failures is
  'Throttle counters: one row per failed (or in-flight) password or code attempt, per account and per address.';

-- Recovery codes: HMAC-SHA256 under SECRET_KEY, each usable once.
create table admin_private.recovery_codes (
  id bigint generated always as identity primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  code_hash bytea not null,
  created_at timestamptz not null default now(),
  used_at timestamptz,
  unique (user_id, code_hash)
);
alter table admin_private.recovery_codes enable row level security;
comment on table admin_private.recovery_codes is
  'Ten one-time recovery codes per admin, stored as keyed hashes; used_at marks a spent code.';

-- Last accepted TOTP time step per factor: a code is accepted only for a newer step,
-- in one atomic upsert, so the same code can never be used twice.
create table admin_private.totp_steps (
  factor_id uuid primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  last_step bigint not null,
  updated_at timestamptz not null default now()
);
alter table admin_private.totp_steps enable row level security;
create index totp_steps_user_id_idx on admin_private.totp_steps (user_id);
comment on table admin_private.totp_steps is
  'Replay guard: the last accepted TOTP time step of each factor.';

revoke all on all tables in schema admin_private from anon, authenticated;
revoke all on all sequences in schema admin_private from anon, authenticated;
