-- Local only, after every migrate: give each table in the supabase_realtime publication
-- statement-level NOTIFY triggers (insert, update, delete), the stand-in for Realtime.
-- These are local plumbing, not among the schema's 5 triggers; their names start with cs_realtime_.
do $$
declare
  v_table record;
  v_op text;
begin
  for v_table in
    select schemaname, tablename from pg_publication_tables where pubname = 'supabase_realtime'
  loop
    foreach v_op in array array['insert', 'update', 'delete'] loop
      if not exists (
        select 1 from pg_trigger
         where tgrelid = format('%I.%I', v_table.schemaname, v_table.tablename)::regclass
           and tgname = 'cs_realtime_' || v_op
      ) then
        execute format(
          'create trigger %I after %s on %I.%I referencing %s table as %s for each statement execute function realtime.cs_notify_change()',
          'cs_realtime_' || v_op, v_op, v_table.schemaname, v_table.tablename,
          case v_op when 'delete' then 'old' else 'new' end,
          case v_op when 'delete' then 'old_rows' else 'new_rows' end);
      end if;
    end loop;
  end loop;
end
$$;
