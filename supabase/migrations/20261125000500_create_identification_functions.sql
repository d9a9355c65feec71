-- The identification grid: current target (2), advancing (7), de-duplication (10).

-- 2 ---------------------------------------------------------------------------------
create function public.get_current_identification_target()
returns setof public.identification_targets
language sql
stable
security invoker
set search_path = ''
as $$
  select t.* from public.identification_targets t
   where t.status = 'in_progress'
   order by t.position
   limit 1
$$;
comment on function public.get_current_identification_target() is
  'The identification target in progress (0 or 1 row).';

-- 7 ---------------------------------------------------------------------------------
create function public.advance_identification_position(
  p_businesses_found integer default 0,
  p_status text default 'done'
)
returns setof public.identification_targets
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_next public.identification_targets;
begin
  if p_businesses_found is null or p_businesses_found not between 0 and 1000000 then
    raise exception 'p_businesses_found must be between 0 and 1000000' using errcode = '22023';
  end if;
  if p_status is null or p_status not in ('done', 'skipped') then
    raise exception 'p_status must be done or skipped, not %', coalesce(p_status, 'null')
      using errcode = '22023';
  end if;
  -- one advance at a time, so two workers never open the same next target
  perform pg_advisory_xact_lock(7401190725);

  update public.identification_targets t
     set status = p_status, completed_at = now(),
         businesses_found = t.businesses_found + p_businesses_found
   where t.id = (select c.id from public.identification_targets c
                  where c.status = 'in_progress' order by c.position limit 1);

  update public.identification_targets t
     set status = 'in_progress', started_at = now(), completed_at = null
   where t.id = (select n.id from public.identification_targets n
                  where n.status = 'pending' order by n.position limit 1)
  returning t.* into v_next;
  if v_next.id is not null then
    return next v_next;
  end if;
end
$$;
comment on function public.advance_identification_position(integer, text) is
  'Closes the target in progress (done or skipped, adds p_businesses_found, completed_at) and opens the next pending one by position; returns it, or no row when the grid is finished.';

-- 10 --------------------------------------------------------------------------------
create function public.get_existing_businesses_for_target(p_target_id bigint)
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
    select p.place_id from public.pipeline_businesses p where p.target_id = p_target_id
    union
    select p.place_id from public.pipeline_businesses p
     where lower(p.city) = lower(v_target.city)
       and p.region = v_target.region
       and p.category = v_target.category;
end
$$;
comment on function public.get_existing_businesses_for_target(bigint) is
  'place_ids already in pipeline_businesses for this target or the same city (any case), region and category, so identification inserts only new ones; P0002 for an unknown target.';

revoke execute on function public.get_current_identification_target(),
  public.advance_identification_position(integer, text),
  public.get_existing_businesses_for_target(bigint)
  from public, anon, authenticated;
grant execute on function public.get_current_identification_target(),
  public.advance_identification_position(integer, text),
  public.get_existing_businesses_for_target(bigint)
  to service_role;
grant execute on function public.get_current_identification_target() to authenticated;
