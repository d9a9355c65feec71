-- search_businesses says how many businesses match, so the table's pager can tell the
-- truth ("1-50 of 3,341", not "1-50 of 51").
--
-- On the first page (p_before_id null) every row carries match_count and
-- match_count_is_estimate. The count is exact up to 10,000: it counts at most 10,001
-- matching rows (a few milliseconds on the same indexes the page uses, at a million
-- businesses). Beyond that it is the planner's estimate of the same query, never below
-- 10,001, and match_count_is_estimate is true, so a caller can print "≈ 1.2M" or "more
-- than 10,000". Later pages carry nulls: their caller already has the count. A first
-- page with no rows means 0 matches.
--
-- The return type gains two columns, so the function is dropped and created again
-- with its grants and comment; the rest is as in 20261125005300. It is now VOLATILE,
-- not STABLE, only because PostgreSQL refuses EXPLAIN in a non-volatile function; it
-- still writes nothing.

drop function public.search_businesses(text, text, bigint, integer);

create function public.search_businesses(
  p_query text default null,
  p_status text default null,
  p_before_id bigint default null,
  p_limit integer default 50
)
returns table (
  id bigint, uuid text, place_id text, name text, category text, city text, region text,
  status text, site_status text, outreach_status text, claimed boolean, preview_url text,
  attempts integer, last_error text, created_at timestamptz, updated_at timestamptz,
  match_count bigint, match_count_is_estimate boolean
)
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_query text := nullif(btrim(p_query), '');
  v_where text := 'true';
  v_from text := ' from public.pipeline_businesses p
       left join public.qualified_businesses q on q.pipeline_business_id = p.id
      where ';
  v_pattern text;
  v_count bigint;
  v_estimated boolean;
  v_plan jsonb;
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
  v_pattern := '%' || replace(replace(replace(coalesce(v_query, ''), '\', '\\'), '%', '\%'), '_', '\_') || '%';

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

  if p_before_id is null then
    execute 'select count(*) from (select 1' || v_from || v_where || ' limit 10001) c'
      into v_count using v_query, p_before_id, v_pattern, p_status;
    v_estimated := v_count > 10000;
    if v_estimated then
      execute 'explain (format json) select 1' || v_from || v_where
        into v_plan using v_query, p_before_id, v_pattern, p_status;
      v_count := greatest(10001, round((v_plan -> 0 -> 'Plan' ->> 'Plan Rows')::numeric)::bigint);
    end if;
  end if;

  return query execute
    'select p.id, q.uuid, p.place_id::text, p.name::text, p.category::text, p.city::text,
            p.region::text, p.status::text, q.site_status, q.outreach_status, q.claimed,
            q.preview_url, p.attempts::integer, p.last_error,
            p.created_at, greatest(p.updated_at, q.updated_at), $6, $7'
      || v_from || v_where || '
      order by p.id desc
      limit $5'
    using v_query, p_before_id, v_pattern, p_status, p_limit, v_count, v_estimated;
end
$$;

comment on function public.search_businesses(text, text, bigint, integer) is
  'Keyset-paged search over pipeline_businesses left join qualified_businesses, newest id first (pass the last id as p_before_id): p_query matches name (ilike), city, exact place_id or uuid; p_status is a pipeline status or claimed / unclaimed / review; p_limit 1 to 500. On the first page each row carries match_count (exact up to 10,000, else the planner''s estimate, at least 10,001) and match_count_is_estimate; later pages carry nulls.';

revoke execute on function public.search_businesses(text, text, bigint, integer)
  from public, anon, authenticated;
grant execute on function public.search_businesses(text, text, bigint, integer) to service_role;
