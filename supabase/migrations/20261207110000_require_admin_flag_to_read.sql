-- Reading requires the admin flag as well as MFA.
--
-- The read policies of 20261125000200 let any signed-in user with aal2 read the
-- automation tables, identification_targets and pipeline_businesses. On a Supabase
-- project every user of the project is `authenticated`, and any of them can enrol a
-- TOTP factor and reach aal2 on their own. Only admins carry
-- `app_metadata.cliftonsites_admin = true` (app_metadata is written by the service
-- role, never by the user), so a second restrictive policy per table requires it:
-- restrictive policies are ANDed, so a row is visible only with aal2 AND the flag.
do $$
declare
  v_table text;
begin
  foreach v_table in array array['automation_config', 'automation_status', 'automation_commands',
    'automation_runs', 'automation_logs', 'identification_targets', 'pipeline_businesses']
  loop
    execute format(
      'create policy "Reading %1$s requires the admin flag" on public.%1$I as restrictive for select to authenticated using (coalesce(((select auth.jwt()) -> ''app_metadata'' ->> ''cliftonsites_admin''), '''') = ''true'')',
      v_table);
    execute format(
      'comment on policy "Reading %1$s requires the admin flag" on public.%1$I is %2$L',
      v_table, 'Restrictive: only users whose app_metadata.cliftonsites_admin is true see rows (with the aal2 policy: admins who passed MFA).');
  end loop;
end
$$;
