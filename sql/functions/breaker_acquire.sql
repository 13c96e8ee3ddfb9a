-- May a call to p_service go ahead? 'allow' (closed), 'probe' (half-open trial: a probe slot that
-- lapses after p_probe_ttl, the call's timeout plus a margin), or 'deny' with the seconds until the
-- next try. Expired probe slots are dropped first, so a dead prober frees its slot by itself.
--
-- What the migrations that defined it earlier said (still true unless said otherwise above):
-- (000008)
-- May a call to p_service go ahead? 'allow' (closed), 'probe' (half-open trial), or 'deny' with
-- the seconds until the next try.
create or replace function breaker_acquire(p_service text, p_cooldown interval, p_max_probes int, p_probe_ttl interval)
returns table (decision text, retry_in_s double precision, probe_id bigint)
language plpgsql volatile as $$
declare
  b circuit_breakers;
  v_probe bigint;
  v_next timestamptz;
begin
  select * into b from circuit_breakers where service = p_service for update;
  delete from circuit_breaker_probes where service = p_service and expires_at <= clock_timestamp();
  if b.state = 'closed' then
    return query select 'allow', 0::float8, null::bigint;
    return;
  end if;
  if b.state = 'open' and b.opened_at + p_cooldown <= now() then
    perform set_config('tvdb.breaker_reason', 'cool-down over: probing', true);
    update circuit_breakers set state = 'half_open', probe_successes = 0 where service = p_service;
    b.state := 'half_open';
  end if;
  if b.state = 'half_open' and (select count(*) from circuit_breaker_probes where service = p_service) < p_max_probes then
    insert into circuit_breaker_probes (service, expires_at) values (p_service, clock_timestamp() + p_probe_ttl)
    returning id into v_probe;
    return query select 'probe', 0::float8, v_probe;
    return;
  end if;
  if b.state = 'half_open' then
    select min(expires_at) into v_next from circuit_breaker_probes where service = p_service;
  else
    v_next := b.opened_at + p_cooldown;
  end if;
  return query select 'deny', greatest(1, extract(epoch from (coalesce(v_next, now()) - now())))::float8, null::bigint;
end $$;
