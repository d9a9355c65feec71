-- Payments (22, 23) and outreach (24, 25): webhook events stored once, and the business
-- state they move forward, idempotent and safe against out-of-order delivery.

-- 22 --------------------------------------------------------------------------------
create function public.record_stripe_event(
  p_id text,
  p_type text,
  p_payload jsonb,
  p_created timestamptz default null
)
returns table (is_new boolean, status text, attempts integer)
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_status text;
  v_attempts integer;
begin
  if p_id is null or length(btrim(p_id)) = 0 or length(p_id) > 255 then
    raise exception 'p_id is required: pass Stripe''s event id (1 to 255 characters)' using errcode = '22023';
  end if;
  if p_type is null or length(btrim(p_type)) = 0 or length(p_type) > 255 then
    raise exception 'p_type is required: pass Stripe''s event type' using errcode = '22023';
  end if;
  if p_payload is null or jsonb_typeof(p_payload) <> 'object' then
    raise exception 'p_payload must be the event as a JSON object' using errcode = '22023';
  end if;
  insert into public.stripe_events as e (id, type, payload, created, attempts)
  values (p_id, p_type, p_payload, p_created, 1)
  on conflict (id) do nothing
  returning e.status, e.attempts into v_status, v_attempts;
  if found then
    return query select true, v_status, v_attempts;
    return;
  end if;
  update public.stripe_events e set attempts = e.attempts + 1
   where e.id = p_id
  returning e.status, e.attempts into v_status, v_attempts;
  return query select false, v_status, v_attempts;
end
$$;
comment on function public.record_stripe_event(text, text, jsonb, timestamptz) is
  'Stores a Stripe event once by its id; is_new says whether this delivery is the first, attempts counts deliveries, status is the event''s processing state.';

-- 23 --------------------------------------------------------------------------------
create function public.mark_business_claimed(
  p_uuid text,
  p_payment_id text,
  p_customer_email text default null,
  p_customer_id text default null,
  p_event_id text default null
)
returns public.qualified_businesses
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_business public.qualified_businesses;
begin
  if p_uuid is null or p_uuid !~ '^[a-z0-9]{8}$' then
    raise exception 'p_uuid "%" is invalid: a business uuid is 8 lowercase letters or digits', p_uuid
      using errcode = '22023';
  end if;
  if p_payment_id is null or length(btrim(p_payment_id)) = 0 or length(p_payment_id) > 255 then
    raise exception 'p_payment_id is required: pass the Stripe payment id' using errcode = '22023';
  end if;
  if p_customer_email is not null
     and (length(p_customer_email) > 320 or p_customer_email !~ '^[^@\s]+@[^@\s]+$') then
    raise exception 'p_customer_email "%" is not an email address', p_customer_email using errcode = '22023';
  end if;
  if p_event_id is not null and not exists (select 1 from public.stripe_events e where e.id = p_event_id) then
    raise exception 'stripe event % is not recorded: call record_stripe_event first', p_event_id
      using errcode = 'P0002';
  end if;
  select * into v_business from public.qualified_businesses q where q.uuid = p_uuid for update;
  if not found then
    raise exception 'no business with uuid %', p_uuid using errcode = 'P0002';
  end if;
  if v_business.claimed then
    if v_business.stripe_payment_id = p_payment_id then
      return v_business;  -- the same payment again: nothing to do
    end if;
    raise exception 'business % is already claimed by a different payment; refund or review payment %',
      p_uuid, p_payment_id using errcode = '55000';
  end if;
  update public.qualified_businesses q
     set claimed = true, claimed_at = now(), stripe_payment_id = p_payment_id,
         customer_email = coalesce(p_customer_email, q.customer_email),
         stripe_customer_id = coalesce(p_customer_id, q.stripe_customer_id)
   where q.id = v_business.id
  returning * into v_business;
  insert into public.stripe_idempotency (key, event_id, side_effect, result)
  values ('claim:' || p_uuid, p_event_id, 'claim',
          jsonb_build_object('qualified_business_id', v_business.id, 'payment_id', p_payment_id))
  on conflict (key) do nothing;
  if p_event_id is not null then
    update public.stripe_events e set qualified_business_id = v_business.id where e.id = p_event_id;
  end if;
  return v_business;
end
$$;
comment on function public.mark_business_claimed(text, text, text, text, text) is
  'Marks the business with this uuid claimed by a payment (records stripe_idempotency claim:<uuid>); the same payment again returns the row unchanged; P0002 for an unknown uuid; 55000 when another payment claimed it.';

-- 24 --------------------------------------------------------------------------------
create function public.record_outreach_event(
  p_provider text,
  p_provider_event_id text,
  p_event_type text,
  p_payload jsonb default '{}'::jsonb,
  p_qualified_business_id bigint default null,
  p_occurred_at timestamptz default null
)
returns table (is_new boolean, event_id bigint)
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_id bigint;
  v_business_id bigint;
  v_payload jsonb := coalesce(p_payload, '{}'::jsonb);
  v_target text;
begin
  if p_provider is null or length(btrim(p_provider)) = 0 or length(p_provider) > 100 then
    raise exception 'p_provider is required (e.g. smartlead)' using errcode = '22023';
  end if;
  if p_provider_event_id is null or length(btrim(p_provider_event_id)) = 0 or length(p_provider_event_id) > 300 then
    raise exception 'p_provider_event_id is required (1 to 300 characters)' using errcode = '22023';
  end if;
  if p_event_type is null or length(btrim(p_event_type)) = 0 or length(p_event_type) > 100 then
    raise exception 'p_event_type is required (1 to 100 characters)' using errcode = '22023';
  end if;
  if jsonb_typeof(v_payload) <> 'object' then
    raise exception 'p_payload must be a JSON object' using errcode = '22023';
  end if;
  -- an event about a business we no longer know is kept, unlinked
  select q.id into v_business_id from public.qualified_businesses q where q.id = p_qualified_business_id;

  insert into public.outreach_events as e
    (provider, provider_event_id, qualified_business_id, event_type, payload, occurred_at)
  values (p_provider, p_provider_event_id, v_business_id, p_event_type, v_payload,
          coalesce(p_occurred_at, now()))
  on conflict (provider, provider_event_id) do nothing
  returning e.id into v_id;
  if v_id is null then
    select e.id into v_id from public.outreach_events e
     where e.provider = p_provider and e.provider_event_id = p_provider_event_id;
    return query select false, v_id;
    return;
  end if;

  if v_business_id is not null then
    v_target := case upper(p_event_type)
      when 'EMAIL_REPLY' then 'replied'
      when 'EMAIL_BOUNCE' then 'bounced'
      when 'LEAD_UNSUBSCRIBED' then 'unsubscribed'
      when 'EMAIL_SENT' then 'started'
      when 'EMAIL_OPEN' then 'started'
      when 'EMAIL_LINK_CLICK' then 'started'
      end;
    -- rank only moves forward, so a late "sent" never undoes a reply
    update public.qualified_businesses q
       set outreach_last_event_at = greatest(q.outreach_last_event_at, coalesce(p_occurred_at, now())),
           outreach_status = case
             when v_target = 'started' and q.outreach_status in ('pending', 'starting') then 'started'
             when v_target in ('replied', 'bounced', 'unsubscribed')
                  and q.outreach_status not in ('stopped', 'skipped')
                  and array_position(array['pending', 'starting', 'failed', 'started', 'replied', 'bounced', 'unsubscribed'], v_target)
                      > array_position(array['pending', 'starting', 'failed', 'started', 'replied', 'bounced', 'unsubscribed'], q.outreach_status)
               then v_target
             else q.outreach_status end,
           outreach_started_at = case
             when v_target is not null and q.outreach_started_at is null
               then coalesce(p_occurred_at, now()) else q.outreach_started_at end
     where q.id = v_business_id;
  end if;
  return query select true, v_id;
end
$$;
comment on function public.record_outreach_event(text, text, text, jsonb, bigint, timestamptz) is
  'Stores an outreach provider event once per (provider, event id); when new and the business is known, updates outreach_last_event_at and moves outreach_status forward only (EMAIL_REPLY replied, EMAIL_BOUNCE bounced, LEAD_UNSUBSCRIBED unsubscribed, sent/open/click started); unknown types are stored only.';

-- 25 --------------------------------------------------------------------------------
create function public.set_outreach_status(
  p_qualified_business_id bigint,
  p_status text,
  p_campaign_id text default null,
  p_lead_id text default null,
  p_error text default null
)
returns public.qualified_businesses
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_business public.qualified_businesses;
begin
  if p_qualified_business_id is null then
    raise exception 'p_qualified_business_id is required' using errcode = '22004';
  end if;
  if p_status is null or p_status not in ('pending', 'starting', 'started', 'failed', 'stopped', 'skipped') then
    raise exception 'p_status must be one of pending, starting, started, failed, stopped, skipped, not %',
      coalesce(p_status, 'null') using errcode = '22023';
  end if;
  if p_status = 'failed' and (p_error is null or length(btrim(p_error)) = 0) then
    raise exception 'p_error is required with status failed: say why outreach failed' using errcode = '22023';
  end if;
  select * into v_business from public.qualified_businesses q where q.id = p_qualified_business_id for update;
  if not found then
    raise exception 'qualified business % not found', p_qualified_business_id using errcode = 'P0002';
  end if;
  if p_status = 'starting' and v_business.outreach_status not in ('pending', 'failed') then
    raise exception 'outreach for business % is already %: only pending or failed outreach can start',
      p_qualified_business_id, v_business.outreach_status using errcode = '55000';
  end if;
  if p_status = 'started' and v_business.outreach_status in ('replied', 'bounced', 'unsubscribed') then
    raise exception 'outreach for business % is already %: it cannot go back to started',
      p_qualified_business_id, v_business.outreach_status using errcode = '55000';
  end if;
  update public.qualified_businesses q
     set outreach_status = p_status,
         outreach_campaign_id = coalesce(p_campaign_id, q.outreach_campaign_id),
         outreach_lead_id = coalesce(p_lead_id, q.outreach_lead_id),
         outreach_started_at = case when p_status = 'started'
                                    then coalesce(q.outreach_started_at, now())
                                    else q.outreach_started_at end,
         outreach_error = case when p_status = 'failed' then left(p_error, 10000)
                               when p_status in ('pending', 'starting', 'started') then null
                               else q.outreach_error end,
         outreach_attempts = q.outreach_attempts + case when p_status = 'failed' then 1 else 0 end
   where q.id = p_qualified_business_id
  returning * into v_business;
  return v_business;
end
$$;
comment on function public.set_outreach_status(bigint, text, text, text, text) is
  'Records an outreach campaign step: starting only from pending or failed (else 55000, so trigger and sweeper never both start one), started sets outreach_started_at, failed sets outreach_error and counts an attempt, stopped, skipped, pending (retry).';

revoke execute on function public.record_stripe_event(text, text, jsonb, timestamptz),
  public.mark_business_claimed(text, text, text, text, text),
  public.record_outreach_event(text, text, text, jsonb, bigint, timestamptz),
  public.set_outreach_status(bigint, text, text, text, text)
  from public, anon, authenticated;
grant execute on function public.record_stripe_event(text, text, jsonb, timestamptz),
  public.mark_business_claimed(text, text, text, text, text),
  public.record_outreach_event(text, text, text, jsonb, bigint, timestamptz),
  public.set_outreach_status(bigint, text, text, text, text)
  to service_role;
