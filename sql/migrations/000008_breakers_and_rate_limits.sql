-- Up Migration

-- One circuit breaker per external service, shared by every worker on every host.
-- closed -> open after `threshold` consecutive transient failures; open -> half_open after the
-- cool-down, letting `max_probes` calls through; half_open -> closed after `probes_needed`
-- successes, or back to open on a transient failure. Permanent errors (a bad file) never count.
create table circuit_breakers (
  service text primary key check (service in ('llamaparse', 'embeddings')),
  state text not null default 'closed' check (state in ('closed', 'open', 'half_open')),
  consecutive_failures int not null default 0,
  opened_at timestamptz,
  probes_in_flight int not null default 0,
  probe_successes int not null default 0,
  updated_at timestamptz not null default now()
);
insert into circuit_breakers (service) values ('llamaparse'), ('embeddings');

create table circuit_breaker_events (
  id bigint generated always as identity primary key,
  service text not null,
  from_state text not null,
  to_state text not null,
  reason text not null,
  at timestamptz not null default now()
);
create trigger _100_append_only before update or delete on circuit_breaker_events
  for each row execute function tg_append_only();

create function tg_circuit_breakers__record() returns trigger
language plpgsql volatile as $$
begin
  if new.state is distinct from old.state then
    insert into circuit_breaker_events (service, from_state, to_state, reason)
    values (new.service, old.state, new.state, coalesce(nullif(current_setting('tvdb.breaker_reason', true), ''), 'unspecified'));
    if new.state = 'open' then
      perform raise_alert('breaker_open', format('breaker:%s:%s', new.service, date_trunc('minute', now())), 'critical',
        format('circuit breaker for %s opened: %s', new.service, current_setting('tvdb.breaker_reason', true)),
        jsonb_build_object('service', new.service));
    end if;
  end if;
  new.updated_at := now();
  return new;
end $$;
create trigger _100_record_state before update on circuit_breakers
  for each row execute function tg_circuit_breakers__record();

-- May a call to p_service go ahead? 'allow' (closed), 'probe' (half-open trial), or 'deny' with
-- the seconds until the next try.
create function breaker_acquire(p_service text, p_cooldown interval, p_max_probes int)
returns table (decision text, retry_in_s double precision)
language plpgsql volatile as $$
declare
  b circuit_breakers;
begin
  select * into b from circuit_breakers where service = p_service for update;
  if b.state = 'closed' then
    return query select 'allow', 0::float8;
  elsif b.state = 'open' and b.opened_at + p_cooldown <= now() then
    perform set_config('tvdb.breaker_reason', 'cool-down over: probing', true);
    update circuit_breakers set state = 'half_open', probes_in_flight = 1, probe_successes = 0 where service = p_service;
    return query select 'probe', 0::float8;
  elsif b.state = 'half_open' and b.probes_in_flight < p_max_probes then
    update circuit_breakers set probes_in_flight = probes_in_flight + 1 where service = p_service;
    return query select 'probe', 0::float8;
  else
    return query select 'deny', greatest(1, extract(epoch from (coalesce(b.opened_at, now()) + p_cooldown - now())))::float8;
  end if;
end $$;

-- Record a call's outcome: 'success', 'transient' or 'permanent'.
create function breaker_record(p_service text, p_outcome text, p_probe boolean, p_threshold int, p_probes_needed int, p_reason text default '')
returns void
language plpgsql volatile as $$
declare
  b circuit_breakers;
begin
  select * into b from circuit_breakers where service = p_service for update;
  perform set_config('tvdb.breaker_reason', p_reason, true);
  if p_probe and b.state = 'half_open' then
    update circuit_breakers set probes_in_flight = greatest(0, probes_in_flight - 1) where service = p_service;
  end if;
  if p_outcome = 'transient' then
    if b.state = 'half_open' then
      update circuit_breakers set state = 'open', opened_at = now(), probes_in_flight = 0, probe_successes = 0 where service = p_service;
    elsif b.state = 'closed' then
      update circuit_breakers set consecutive_failures = consecutive_failures + 1,
        state = case when consecutive_failures + 1 >= p_threshold then 'open' else 'closed' end,
        opened_at = case when consecutive_failures + 1 >= p_threshold then now() else opened_at end
      where service = p_service;
    end if;
  else
    -- A success, or a permanent error (the service answered): it counts for the service.
    if b.state = 'half_open' and p_probe then
      update circuit_breakers set probe_successes = probe_successes + 1,
        state = case when probe_successes + 1 >= p_probes_needed then 'closed' else 'half_open' end,
        consecutive_failures = 0
      where service = p_service;
    elsif b.state = 'closed' and b.consecutive_failures > 0 then
      update circuit_breakers set consecutive_failures = 0 where service = p_service;
    end if;
  end if;
end $$;

-- Token buckets shared by all workers: `capacity` tokens, refilled at `refill_per_s`.
create table rate_limits (
  bucket text primary key,
  capacity numeric not null check (capacity > 0),
  refill_per_s numeric not null check (refill_per_s > 0),
  tokens numeric not null,
  updated_at timestamptz not null default now()
);

-- Take p_cost tokens: returns 0 when granted, else the seconds until they will be there (nothing
-- is taken then). An unknown bucket is unlimited.
create function take_rate_tokens(p_bucket text, p_cost numeric) returns double precision
language plpgsql volatile as $$
declare
  r rate_limits;
  v_tokens numeric;
begin
  select * into r from rate_limits where bucket = p_bucket for update;
  if not found then return 0; end if;
  v_tokens := least(r.capacity, r.tokens + extract(epoch from (clock_timestamp() - r.updated_at)) * r.refill_per_s);
  if v_tokens >= least(p_cost, r.capacity) then
    update rate_limits set tokens = v_tokens - least(p_cost, r.capacity), updated_at = clock_timestamp() where bucket = p_bucket;
    return 0;
  end if;
  update rate_limits set tokens = v_tokens, updated_at = clock_timestamp() where bucket = p_bucket;
  return ((least(p_cost, r.capacity) - v_tokens) / r.refill_per_s)::float8;
end $$;

-- Set a bucket's limits (workers do this at start from their configuration); keeps its tokens.
create function configure_rate_limit(p_bucket text, p_capacity numeric, p_refill_per_s numeric) returns void
language sql volatile as $$
  insert into rate_limits (bucket, capacity, refill_per_s, tokens) values (p_bucket, p_capacity, p_refill_per_s, p_capacity)
  on conflict (bucket) do update set capacity = excluded.capacity, refill_per_s = excluded.refill_per_s,
    tokens = least(rate_limits.tokens, excluded.capacity);
$$;
