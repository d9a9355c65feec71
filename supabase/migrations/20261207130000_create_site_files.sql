-- Deployed sites live in the database, so every app instance serves every site (a
-- worker on one machine, the app on another). One row per file of a site; a deploy
-- replaces all of a site's rows in one transaction, so a reader sees the old site or
-- the new one, never a mix. Private: only the server (the owner role) reads it, and
-- the public `/sites/<uuid>/` route decides what to show from qualified_businesses.

create table admin_private.site_files (
  uuid text not null check (uuid ~ '^[a-z0-9]{8}$'),
  name text not null check (name ~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\.(html|css|js|png|jpg|jpeg|svg|webp|ico)$'),
  content bytea not null check (octet_length(content) <= 5242880),
  content_type text not null check (length(content_type) between 1 and 100),
  etag text not null check (etag ~ '^[0-9a-f]{64}$'),
  deployed_at timestamptz not null default now(),
  primary key (uuid, name)
);
alter table admin_private.site_files enable row level security;
revoke all on admin_private.site_files from public;
comment on table admin_private.site_files is
  'Deployed static sites, one row per file (content, type, SHA-256 etag); a re-deploy replaces a site''s rows in one transaction.';
