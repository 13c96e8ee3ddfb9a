-- Budget periods in UTC, whatever the session's TimeZone.
--
-- What the migrations that defined it earlier said (still true unless said otherwise above):
-- (000005)
-- Where a budget's current period starts.
create or replace function budget_period_start(p_period text, p_created_at timestamptz, p_at timestamptz default now()) returns timestamptz
language sql stable as $$
  select case p_period
    when 'day' then date_trunc('day', p_at, 'UTC')
    when 'month' then date_trunc('month', p_at, 'UTC')
    else p_created_at end;
$$;
