-- Issue 17: concurrent webhook deliveries are group-committed. The server gathers the deliveries
-- that arrive within a millisecond or two and records them with one call of
-- record_webhook_deliveries, which answers each with its own outcome (by its position in the
-- array). The transaction commits without waiting for the WAL flush (synchronous_commit = off): a
-- delivery lost in a database crash is a lost nudge, and the collect task's own polling and the
-- reconciler find the job anyway (DECISIONS.md).
--
-- Locks are taken in one order whatever the arrival order (deliveries by token, then event id;
-- the metric rows at the end by outcome), so two batches touching the same jobs cannot deadlock.
-- The per-delivery logic is record_webhook_delivery's (000012), with two additions: a collect task
-- that replaced a scheduled one wakes the workers (graphile-worker's own NOTIFY is for new rows),
-- and it goes before the queued stage tasks (priority -1; graphile-worker runs lower numbers
-- first): it is short, and it finishes work LlamaParse has already done.
create or replace function record_webhook_deliveries(p_deliveries jsonb, p_max_attempts int)
returns table(ordinal int, outcome text, job_id uuid, acted boolean, detail text)
language plpgsql volatile as $$
declare
  d record;
  j record;
  v_outcome text;
  v_acted boolean;
  v_detail text;
  v_collector record;
  v_outcomes text[] := '{}';
  v_revision int;
begin
  perform set_config('synchronous_commit', 'off', true);
  select t.task, t.job_key_prefix, s.starts_from into v_collector
  from pipeline_stage_tasks t join pipeline_stages s using (stage)
  where t.task = 'job__parse_collect';
  for d in
    select x.n::int as n, x.v->>'token' as token, x.v->>'event_id' as event_id, x.v->>'event_type' as event_type,
           x.v->>'llamaparse_job_id' as llamaparse_job_id, (x.v->>'known')::boolean as known,
           (x.v->>'final')::boolean as final
    from jsonb_array_elements(p_deliveries) with ordinality as x(v, n)
    order by x.v->>'token', x.v->>'event_id', x.n
  loop
    v_acted := false;
    v_detail := null;
    select jb.id, jb.state, jb.correlation_id, jb.llamaparse_job_id into j from jobs jb where jb.webhook_token = d.token;
    if not found then
      return query select d.n, 'unknown_token', null::uuid, false, null::text;
      continue;
    end if;
    if j.llamaparse_job_id is null then
      -- The upload's answer and its first webhook race: LlamaParse will retry.
      v_outcome := 'not_recorded_yet';
      v_detail := 'the LlamaParse job id is not recorded yet';
    elsif j.llamaparse_job_id <> d.llamaparse_job_id then
      return query select d.n, 'job_mismatch', j.id, false,
        format('delivery is for %s, the job''s is another', left(d.llamaparse_job_id, 40));
      continue;
    else
      insert into webhook_deliveries (event_id, event_type, llamaparse_job_id, job_id, correlation_id, known_event)
      values (d.event_id, d.event_type, d.llamaparse_job_id, j.id, j.correlation_id, d.known)
      on conflict (event_id) do nothing;
      v_outcome := case when found then 'accepted' else 'duplicate' end;
      if v_outcome = 'accepted' and d.final and j.state = v_collector.starts_from then
        select (graphile_worker.add_job(v_collector.task,
          stage_task_payload(j.id, j.correlation_id, '{"polls": 0}'),
          run_at => now(), max_attempts => p_max_attempts, job_key => stage_task_job_key(v_collector.task, j.id),
          job_key_mode => 'replace', priority => -1)).revision into v_revision;
        -- add_job wakes the workers only for a new row; replacing the scheduled fallback check
        -- (revision > 0) would wait for their next poll. Wake them as add_job does.
        if v_revision > 0 then
          perform pg_notify('jobs:insert', '{"r":' || random()::text || ',"count":1}');
        end if;
        v_acted := true;
      end if;
    end if;
    v_outcomes := v_outcomes || case v_outcome when 'not_recorded_yet' then 'retry_later' else v_outcome end;
    return query select d.n, v_outcome, j.id, v_acted, v_detail;
  end loop;
  perform observe_metric('tvdb_webhook_deliveries_total', jsonb_build_object('outcome', o, 'reason', ''))
  from unnest(v_outcomes) as o order by o;
end $$;
