-- Each admin's own display choices, kept with the admin on the server so they follow
-- the admin to every browser: for now the colour theme. `auto` (no row, or the value)
-- follows the browser's prefers-color-scheme until the admin picks light or dark.
-- Private like the rest of admin_private: RLS on, nothing granted to anon or
-- authenticated; only the server's own role reads and writes it.

create table admin_private.admin_preferences (
  user_id uuid primary key references auth.users (id) on delete cascade,
  theme text not null default 'auto' check (theme in ('auto', 'light', 'dark')),
  updated_at timestamptz not null default now()
);
alter table admin_private.admin_preferences enable row level security;
revoke all on admin_private.admin_preferences from public, anon, authenticated;
comment on table admin_private.admin_preferences is
  'Per-admin display preferences (theme: auto follows the browser, light or dark as chosen).';
