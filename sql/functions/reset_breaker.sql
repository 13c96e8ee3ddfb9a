-- tvdb breaker reset <service>: an operator closes a breaker (recorded as such).
create or replace function reset_breaker(p_service text, p_who text) returns text
language plpgsql volatile as $$
declare
  v_from text;
begin
  select state into v_from from circuit_breakers where service = p_service for update;
  if not found then
    raise exception 'no circuit breaker for %', p_service using errcode = 'TV004';
  end if;
  perform set_config('tvdb.breaker_reason', format('reset by %s', p_who), true);
  delete from circuit_breaker_probes where service = p_service;
  update circuit_breakers set state = 'closed', consecutive_failures = 0, opened_at = null, probe_successes = 0
  where service = p_service;
  return v_from;
end $$;
