-- Where a business's owner email came from, or why it has none. The contact step of
-- the worker fills these after a business is found; an admin's edit or a CSV import
-- sets `manual` / `import`.

alter table public.pipeline_businesses
  add column email_source text
    check (email_source in ('finder', 'demo', 'hunter', 'manual', 'import', 'seed')),
  add column email_missing_reason text
    check (email_missing_reason is null or length(email_missing_reason) between 1 and 500);
comment on column public.pipeline_businesses.email_source is
  'Where the owner email came from: finder (the source listing), demo, hunter (Hunter.io domain search), manual (an admin), import (CSV), seed.';
comment on column public.pipeline_businesses.email_missing_reason is
  'Why the business has no owner email (e.g. "no domain to search"), set by the contact step; null once an email is known.';
