-- One circuit breaker per external service, shared by every worker on every host.
-- closed -> open after `threshold` consecutive transient failures; open -> half_open after the
-- cool-down, letting `max_probes` calls through; half_open -> closed after `probes_needed`
-- successes, or back to open on a transient failure. Permanent errors (a bad file) never count.
create or replace function tg_circuit_breakers__record() returns trigger
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

-- One circuit breaker per external service, shared by every worker on every host.
-- closed -> open after `threshold` consecutive transient failures; open -> half_open after the
-- cool-down, letting `max_probes` calls through; half_open -> closed after `probes_needed`
-- successes, or back to open on a transient failure. Permanent errors (a bad file) never count.
create or replace trigger _100_record_state before update on circuit_breakers
  for each row execute function tg_circuit_breakers__record();
