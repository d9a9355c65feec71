-- pipeline_businesses: the checks on its columns move from table CHECK constraints to
-- domains, with the same rules.
--
-- PostgreSQL evaluates every CHECK constraint of a table on every UPDATE of a row,
-- whichever columns changed, and prepares each one again for every statement. A claim
-- (claim_next_business) changes status, claimed_by, claim_token, started_at,
-- finished_at and attempts, yet paid for all ten checks, names and places included:
-- about a fifth of the server's time per claim at one client. A domain's check runs
-- only when a value is written to the column, so a claim now checks status and
-- attempts, and an insert or COPY still checks every column as before. The rules, the
-- error (23514 check_violation) and the columns' base types are unchanged; clients see
-- text, integer and numeric as before (the wire protocol reports a domain's base type).
--
-- v_queue_status reads pipeline_businesses.status, so it is dropped and created again
-- from its own definition, with its grants and comment. The two functions that RETURN
-- QUERY these columns under their base types (PL/pgSQL wants the very types) cast them;
-- they are otherwise as before, and `create or replace` keeps their grants and comments.
-- The ALTER TABLE rewrites the table and its indexes once.

create domain public.required_text_300 as text
  check (length(btrim(value)) between 1 and 300);
comment on domain public.required_text_300 is
  'Text of 1 to 300 characters that is not blank (pipeline_businesses.place_id and name).';

create domain public.required_text_200 as text
  check (length(btrim(value)) between 1 and 200);
comment on domain public.required_text_200 is
  'Text of 1 to 200 characters that is not blank (pipeline_businesses.category, city, region).';

create domain public.pipeline_status as text
  check (value in ('queued', 'started', 'deployed', 'failed', 'skipped'));
comment on domain public.pipeline_status is
  'A pipeline business''s status: queued, started, deployed, failed or skipped.';

create domain public.star_rating as numeric(2, 1)
  check (value between 0 and 5);
comment on domain public.star_rating is 'A rating from 0 to 5 stars, one decimal.';

create domain public.non_negative_integer as integer
  check (value >= 0);
comment on domain public.non_negative_integer is
  'An integer of 0 or more (pipeline_businesses.review_count and attempts).';

create domain public.queue_priority as integer
  check (value between -1000 and 1000);
comment on domain public.queue_priority is
  'A queue priority from -1000 to 1000; higher is claimed first.';

do $$
declare
  v_view constant regclass := 'public.v_queue_status'::regclass;
  v_definition constant text := pg_catalog.pg_get_viewdef(v_view);
  v_comment constant text := pg_catalog.obj_description(v_view, 'pg_class');
begin
  drop view public.v_queue_status;

  alter table public.pipeline_businesses
    drop constraint pipeline_businesses_place_id_check,
    drop constraint pipeline_businesses_name_check,
    drop constraint pipeline_businesses_category_check,
    drop constraint pipeline_businesses_city_check,
    drop constraint pipeline_businesses_region_check,
    drop constraint pipeline_businesses_rating_check,
    drop constraint pipeline_businesses_review_count_check,
    drop constraint pipeline_businesses_status_check,
    drop constraint pipeline_businesses_priority_check,
    drop constraint pipeline_businesses_attempts_check,
    alter column place_id type public.required_text_300,
    alter column name type public.required_text_300,
    alter column category type public.required_text_200,
    alter column city type public.required_text_200,
    alter column region type public.required_text_200,
    alter column rating type public.star_rating,
    alter column review_count type public.non_negative_integer,
    alter column status type public.pipeline_status,
    alter column priority type public.queue_priority,
    alter column attempts type public.non_negative_integer;

  execute 'create view public.v_queue_status with (security_invoker = true) as ' || v_definition;
  execute format('comment on view public.v_queue_status is %L', v_comment);
end
$$;

-- as in 20261125000300: Supabase grants new views to anon and authenticated; only
-- signed-in admins read them (through the tables' RLS)
revoke all on public.v_queue_status from public, anon, authenticated, service_role;
grant select on public.v_queue_status to authenticated, service_role;

-- 10, as in 20261125000500 but for the cast ---------------------------------------------
create or replace function public.get_existing_businesses_for_target(p_target_id bigint)
returns setof text
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_target public.identification_targets;
begin
  if p_target_id is null then
    raise exception 'p_target_id is required' using errcode = '22004';
  end if;
  select * into v_target from public.identification_targets t where t.id = p_target_id;
  if not found then
    raise exception 'identification target % not found', p_target_id using errcode = 'P0002';
  end if;
  return query
    select p.place_id::text from public.pipeline_businesses p where p.target_id = p_target_id
    union
    select p.place_id::text from public.pipeline_businesses p
     where lower(p.city) = lower(v_target.city)
       and p.region = v_target.region
       and p.category = v_target.category;
end
$$;

-- 21, as in 20261125000700 but for the casts ---------------------------------------------
create or replace function public.search_businesses(
  p_query text default null,
  p_status text default null,
  p_before_id bigint default null,
  p_limit integer default 50
)
returns table (
  id bigint, uuid text, place_id text, name text, category text, city text, region text,
  status text, site_status text, outreach_status text, claimed boolean, preview_url text,
  attempts integer, last_error text, created_at timestamptz, updated_at timestamptz
)
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_query text := nullif(btrim(p_query), '');
  v_where text := 'true';
begin
  if p_limit is null or p_limit not between 1 and 500 then
    raise exception 'p_limit must be between 1 and 500' using errcode = '22023';
  end if;
  if p_before_id is not null and p_before_id < 1 then
    raise exception 'p_before_id must be a business id (1 or more), or null for the first page'
      using errcode = '22023';
  end if;
  if p_status is not null and p_status not in ('queued', 'started', 'deployed', 'failed', 'skipped',
                                               'claimed', 'unclaimed', 'review') then
    raise exception 'p_status must be one of queued, started, deployed, failed, skipped, claimed, unclaimed, review, not %',
      p_status using errcode = '22023';
  end if;
  if length(v_query) > 200 then
    raise exception 'p_query is longer than 200 characters' using errcode = '22023';
  end if;

  -- built per call so each search gets a plan for its own filters (indexes: pkey,
  -- (status, id), name trigram, place_id, uuid, lower(city))
  if p_before_id is not null then
    v_where := v_where || ' and p.id < $2';
  end if;
  if v_query is not null then
    v_where := v_where || ' and p.id in (
        select x.id from public.pipeline_businesses x where x.name ilike $3
        union select x.id from public.pipeline_businesses x where lower(x.city) = lower($1)
        union select x.id from public.pipeline_businesses x where x.place_id = $1
        union select y.pipeline_business_id from public.qualified_businesses y where y.uuid = lower($1))';
  end if;
  v_where := v_where || case p_status
    when 'claimed' then ' and q.claimed'
    when 'unclaimed' then ' and not q.claimed'
    when 'review' then ' and q.review_reason is not null'
    else case when p_status is null then '' else ' and p.status = $4' end end;

  return query execute
    'select p.id, q.uuid, p.place_id::text, p.name::text, p.category::text, p.city::text,
            p.region::text, p.status::text, q.site_status, q.outreach_status, q.claimed,
            q.preview_url, p.attempts::integer, p.last_error,
            p.created_at, greatest(p.updated_at, q.updated_at)
       from public.pipeline_businesses p
       left join public.qualified_businesses q on q.pipeline_business_id = p.id
      where ' || v_where || '
      order by p.id desc
      limit $5'
    using v_query, p_before_id,
          '%' || replace(replace(replace(coalesce(v_query, ''), '\', '\\'), '%', '\%'), '_', '\_') || '%',
          p_status, p_limit;
end
$$;
