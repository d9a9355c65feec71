-- Local only, after every migrate: give each table in the supabase_realtime publication
-- statement-level NOTIFY triggers (insert, update, delete), the stand-in for Realtime.
-- These are local plumbing, not among the schema's 5 triggers; their names start with cs_realtime_.
-- UPDATE on pipeline_businesses (the claim path) coalesces its NOTIFYs per 25 ms window:
-- see realtime.cs_notify_change in bootstrap.sql. A trigger whose definition differs from
-- the one wanted here is dropped and created again, so this file stays idempotent.
do $$
declare
  v_table record;
  v_op text;
  v_args text;
  v_def text;
begin
  for v_table in
    select schemaname, tablename from pg_publication_tables where pubname = 'supabase_realtime'
  loop
    foreach v_op in array array['insert', 'update', 'delete'] loop
      v_args := case when (v_table.schemaname, v_table.tablename, v_op)
                          = ('public', 'pipeline_businesses', 'update') then '''25''' else '' end;
      select pg_get_triggerdef(t.oid) into v_def from pg_trigger t
       where t.tgrelid = format('%I.%I', v_table.schemaname, v_table.tablename)::regclass
         and t.tgname = 'cs_realtime_' || v_op;
      if v_def is not null and v_def not like '%cs_notify_change(' || v_args || ')' then
        execute format('drop trigger %I on %I.%I', 'cs_realtime_' || v_op,
                       v_table.schemaname, v_table.tablename);
        v_def := null;
      end if;
      if v_def is null then
        execute format(
          'create trigger %I after %s on %I.%I referencing %s table as %s for each statement execute function realtime.cs_notify_change(%s)',
          'cs_realtime_' || v_op, v_op, v_table.schemaname, v_table.tablename,
          case v_op when 'delete' then 'old' else 'new' end,
          case v_op when 'delete' then 'old_rows' else 'new_rows' end, v_args);
      end if;
    end loop;
  end loop;
end
$$;
