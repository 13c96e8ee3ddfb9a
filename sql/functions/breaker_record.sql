-- Record a call's outcome: 'success', 'transient' or 'permanent'; a probe gives its slot back.
--
-- What the migrations that defined it earlier said (still true unless said otherwise above):
-- (000008)
-- Record a call's outcome: 'success', 'transient' or 'permanent'.
create or replace function breaker_record(p_service text, p_outcome text, p_probe_id bigint, p_threshold int, p_probes_needed int, p_reason text default '')
returns void
language plpgsql volatile as $$
declare
  b circuit_breakers;
  v_probe boolean := false;
begin
  select * into b from circuit_breakers where service = p_service for update;
  perform set_config('tvdb.breaker_reason', p_reason, true);
  if p_probe_id is not null then
    delete from circuit_breaker_probes where id = p_probe_id;
    v_probe := found or b.state = 'half_open';
  end if;
  if p_outcome = 'transient' then
    if b.state = 'half_open' then
      delete from circuit_breaker_probes where service = p_service;
      update circuit_breakers set state = 'open', opened_at = now(), probe_successes = 0 where service = p_service;
    elsif b.state = 'closed' then
      update circuit_breakers set consecutive_failures = consecutive_failures + 1,
        state = case when consecutive_failures + 1 >= p_threshold then 'open' else 'closed' end,
        opened_at = case when consecutive_failures + 1 >= p_threshold then now() else opened_at end
      where service = p_service;
    end if;
  else
    -- A success, or a permanent error (the service answered): it counts for the service.
    if b.state = 'half_open' and v_probe then
      update circuit_breakers set probe_successes = probe_successes + 1,
        state = case when probe_successes + 1 >= p_probes_needed then 'closed' else 'half_open' end,
        consecutive_failures = 0
      where service = p_service;
    elsif b.state = 'closed' and b.consecutive_failures > 0 then
      update circuit_breakers set consecutive_failures = 0 where service = p_service;
    end if;
  end if;
end $$;
