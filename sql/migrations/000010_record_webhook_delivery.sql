-- Up Migration

-- A webhook delivery's whole database work in one statement (one round trip): find the job by its
-- token, check the LlamaParse job id, record the delivery once per event_id, and for a final event
-- on a job still waiting for its parse, enqueue collection (coalesced per job).
create function record_webhook_delivery(
  p_token text, p_event_id text, p_event_type text, p_llamaparse_job_id text,
  p_known boolean, p_final boolean, p_max_attempts int
) returns table (outcome text, job_id uuid, acted boolean, detail text)
language plpgsql volatile as $$
declare
  j record;
  v_inserted text;
begin
  select id, state, correlation_id, llamaparse_job_id into j from jobs where webhook_token = p_token;
  if not found then
    return query select 'unknown_token', null::uuid, false, null::text;
    return;
  end if;
  if j.llamaparse_job_id is null then
    -- The upload's answer and its first webhook race: LlamaParse will retry.
    return query select 'not_recorded_yet', j.id, false, 'the LlamaParse job id is not recorded yet';
    return;
  end if;
  if j.llamaparse_job_id <> p_llamaparse_job_id then
    return query select 'job_mismatch', j.id, false, format('delivery is for %s, the job''s is another', left(p_llamaparse_job_id, 40));
    return;
  end if;
  insert into webhook_deliveries (event_id, event_type, llamaparse_job_id, job_id, correlation_id, known_event)
  values (p_event_id, p_event_type, p_llamaparse_job_id, j.id, j.correlation_id, p_known)
  on conflict (event_id) do nothing
  returning event_id into v_inserted;
  if v_inserted is null then
    return query select 'duplicate', j.id, false, null::text;
    return;
  end if;
  if p_final and j.state = 'parse_queued' then
    perform graphile_worker.add_job('job__parse_collect',
      json_build_object('jobId', j.id, 'correlationId', j.correlation_id, 'polls', 0),
      run_at => now(), max_attempts => p_max_attempts, job_key => 'collect:' || j.id, job_key_mode => 'replace');
    return query select 'accepted', j.id, true, null::text;
    return;
  end if;
  return query select 'accepted', j.id, false, null::text;
end $$;
