CREATE TYPE public.job_state AS ENUM (
    'uploaded',
    'parse_queued',
    'parsed',
    'chunking',
    'chunks_stored',
    'embedding_queued',
    'embedding_in_progress',
    'embeddings_stored',
    'complete',
    'failed_parse',
    'failed_chunking',
    'failed_embedding'
);

CREATE FUNCTION public.add_job_note(p_job_id uuid, p_detail jsonb) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
declare
  v_problem text := job_note_problem(p_detail);
begin
  if v_problem is not null then
    raise exception 'add_job_note: %', v_problem using errcode = '22023';
  end if;
  insert into job_events (job_id, kind, from_state, to_state, correlation_id, detail)
  select id, 'note', null, state, correlation_id, p_detail || jsonb_build_object('role', session_user::text)
  from jobs where id = p_job_id;
end $$;

CREATE FUNCTION public.advance_job(p_job_id uuid, p_from public.job_state, p_to public.job_state, p_detail jsonb DEFAULT '{}'::jsonb) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
declare
  v_state job_state;
  v_problem text := event_detail_problem(p_to, p_detail);
begin
  if v_problem is not null then
    raise exception 'advance_job: %', v_problem using errcode = '22023';
  end if;
  select state into v_state from jobs where id = p_job_id for update;
  if not found then
    raise exception 'job % does not exist', p_job_id using errcode = 'TV004';
  end if;
  if v_state = p_to then
    return 'already_there';
  end if;
  if v_state <> p_from then
    raise exception 'job % is in state %, not % (asked to move it to %)', p_job_id, v_state, p_from, p_to
      using errcode = 'TV002', detail = format('job %s', p_job_id);
  end if;
  perform set_config('tvdb.event_detail', coalesce(p_detail, '{}')::text, true);
  update jobs set state = p_to,
    last_error = case when p_to::text like 'failed_%' then coalesce(p_detail ->> 'error', last_error) else last_error end
  where id = p_job_id;
  perform set_config('tvdb.event_detail', '', true);
  return 'moved';
end $$;

CREATE FUNCTION public.begin_paid_call(p_reservation_id bigint, p_amount bigint, p_lease_token bigint) RETURNS void
    LANGUAGE plpgsql
    AS $$
begin
  update budget_reservations
  set pending_call_micro_usd = greatest(0, p_amount), pending_call_at = now(), pending_call_token = p_lease_token,
      pending_call_ref = null
  where id = p_reservation_id and status = 'held';
  if not found then
    raise exception 'budget reservation % is no longer held (it expired before its paid call began); reserve again',
      p_reservation_id using errcode = '55000';
  end if;
end $$;

CREATE FUNCTION public.begin_stage_run(p_job_id uuid, p_stage text, p_token bigint, p_from public.job_state, p_to public.job_state, p_detail jsonb) RETURNS text
    LANGUAGE plpgsql
    AS $$
begin
  perform fence_stage_run(p_job_id, p_stage, p_token);
  return advance_job(p_job_id, p_from, p_to, p_detail);
end $$;

CREATE FUNCTION public.breaker_acquire(p_service text, p_cooldown interval, p_max_probes integer, p_probe_ttl interval) RETURNS TABLE(decision text, retry_in_s double precision, probe_id bigint)
    LANGUAGE plpgsql
    AS $$
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

CREATE FUNCTION public.breaker_record(p_service text, p_outcome text, p_probe_id bigint, p_threshold integer, p_probes_needed integer, p_reason text DEFAULT ''::text) RETURNS void
    LANGUAGE plpgsql
    AS $$
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

CREATE FUNCTION public.budget_period_start(p_period text, p_created_at timestamp with time zone, p_at timestamp with time zone DEFAULT now()) RETURNS timestamp with time zone
    LANGUAGE sql STABLE
    AS $$
  select case p_period
    when 'day' then date_trunc('day', p_at, 'UTC')
    when 'month' then date_trunc('month', p_at, 'UTC')
    else p_created_at end;
$$;

CREATE FUNCTION public.budget_refusal(p_service text, p_amount bigint) RETURNS text
    LANGUAGE plpgsql
    AS $$
declare
  v_budget record;
begin
  perform 1 from budgets where scope in (p_service, 'all') order by id for update;
  for v_budget in
    select s.* from budget_status s where s.scope in (p_service, 'all') order by s.budget_id
  loop
    if v_budget.remaining_micro_usd < p_amount then
      return format('%s %s budget: %s of %s micro-USD spent or reserved, %s needed',
        v_budget.scope, v_budget.period, v_budget.spent_micro_usd + v_budget.reserved_micro_usd, v_budget.limit_micro_usd, p_amount);
    end if;
  end loop;
  return null;
end $$;

CREATE FUNCTION public.charge_pending_call(p_reservation_id bigint, p_why text) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
declare
  v_r budget_reservations;
begin
  select * into v_r from budget_reservations where id = p_reservation_id for update;
  if not found or v_r.pending_call_micro_usd = 0 then
    return 0;
  end if;
  if v_r.pending_call_ref is not null and exists (
    select 1 from cost_ledger where service = v_r.service and external_id = v_r.pending_call_ref
      and operation not in ('unrecorded_call', 'estimate_replaced')) then
    update budget_reservations set pending_call_micro_usd = 0, pending_call_at = null where id = v_r.id;
    return 0;
  end if;
  insert into cost_ledger (service, operation, units, unit, cost_micro_usd, estimated, job_id, external_id, reservation_id)
  values (v_r.service, 'unrecorded_call', v_r.pending_call_micro_usd, 'micro_usd', v_r.pending_call_micro_usd, true,
          v_r.job_id, v_r.pending_call_ref, v_r.id);
  if v_r.job_id is not null then
    perform add_job_note(v_r.job_id, jsonb_build_object('event', 'unrecorded_call_charged', 'stage', v_r.stage,
      'service', v_r.service, 'estimate_micro_usd', v_r.pending_call_micro_usd, 'why', p_why,
      'call_started_at', v_r.pending_call_at));
  end if;
  return v_r.pending_call_micro_usd;
end $$;

CREATE FUNCTION public.charge_request_paid_call(p_reservation_id bigint, p_why text) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
declare
  v_charged bigint;
begin
  if not exists (select 1 from budget_reservations where id = p_reservation_id and request_id is not null) then
    return 0;
  end if;
  v_charged := charge_pending_call(p_reservation_id, p_why);
  update budget_reservations set status = 'released', settled_at = now() where id = p_reservation_id and status = 'held';
  return v_charged;
end $$;

CREATE FUNCTION public.claim_stage_run(p_job_id uuid, p_stage text, p_owner text, p_lease interval, p_domain text DEFAULT NULL::text, p_pid integer DEFAULT NULL::integer, p_pid_start text DEFAULT NULL::text) RETURNS TABLE(outcome text, token bigint, state public.job_state, retry_in_s double precision, holder_domain text, holder_pid integer, holder_pid_start text)
    LANGUAGE plpgsql
    AS $$
declare
  v_state job_state;
  s pipeline_stages;
  v_token bigint;
  l stage_leases;
begin
  select * into s from pipeline_stages p where p.stage = p_stage;
  if not found then
    raise exception 'no stage %', p_stage using errcode = 'TV004';
  end if;
  -- Lock order, here and in fence_stage_run: the job row, then the lease row.
  select j.state into v_state from jobs j where j.id = p_job_id for no key update;
  if not found then
    raise exception 'job % does not exist', p_job_id using errcode = 'TV004';
  end if;
  if v_state is distinct from s.starts_from and v_state is distinct from s.in_progress then
    return query select 'not_in_stage', null::bigint, v_state, 0::float8, null::text, null::int, null::text;
    return;
  end if;
  insert into stage_leases as sl (job_id, stage, token, owner, expires_at, holder_domain, holder_pid, holder_pid_start)
  values (p_job_id, p_stage, nextval('stage_lease_tokens'), p_owner, clock_timestamp() + p_lease, p_domain, p_pid, p_pid_start)
  on conflict (job_id, stage) do update
    set token = excluded.token, owner = excluded.owner, acquired_at = clock_timestamp(), expires_at = excluded.expires_at,
        holder_domain = excluded.holder_domain, holder_pid = excluded.holder_pid, holder_pid_start = excluded.holder_pid_start
    where sl.expires_at <= clock_timestamp()
  returning sl.token into v_token;
  if v_token is null then
    select * into l from stage_leases sl where sl.job_id = p_job_id and sl.stage = p_stage;
    return query select 'busy', null::bigint, v_state,
      greatest(0.1, extract(epoch from l.expires_at - clock_timestamp()))::float8,
      l.holder_domain, l.holder_pid, l.holder_pid_start;
    return;
  end if;
  return query select 'claimed', v_token, v_state, 0::float8, null::text, null::int, null::text;
end $$;

CREATE FUNCTION public.clear_paid_call(p_job_id uuid, p_stage text, p_lease_token bigint) RETURNS void
    LANGUAGE sql
    AS $$
  update budget_reservations set pending_call_micro_usd = 0, pending_call_at = null, pending_call_ref = null
  where job_id = p_job_id and stage = p_stage and status = 'held'
    and (pending_call_token is null or p_lease_token is null or pending_call_token <= p_lease_token);
$$;

CREATE FUNCTION public.clear_request_paid_call(p_reservation_id bigint) RETURNS void
    LANGUAGE sql
    AS $$
  update budget_reservations set pending_call_micro_usd = 0, pending_call_at = null, pending_call_ref = null
  where id = p_reservation_id and request_id is not null and status = 'held';
$$;

CREATE FUNCTION public.compact_metric_series() RETURNS integer
    LANGUAGE plpgsql
    AS $$
declare
  v_rows int;
begin
  with moved as (
    delete from metric_series where shard <> 0 returning *
  ), summed as (
    select m.name, m.labels, sum(m.count)::bigint as count, sum(m.sum) as sum, min(m.bounds) as bounds,
           case when bool_and(m.buckets is null) then null else
             (select array_agg(t.total order by t.i) from (
                select i, sum(b.buckets[i])::bigint as total
                from moved b, generate_subscripts(b.buckets, 1) i
                where b.name = m.name and b.labels = m.labels group by i) t) end as buckets
    from moved m
    group by m.name, m.labels
  )
  insert into metric_series as s (name, labels, shard, count, sum, bounds, buckets)
  select name, labels, 0, count, sum, bounds, buckets from summed
  on conflict (name, labels, shard) do update
    set count = s.count + excluded.count,
        sum = s.sum + excluded.sum,
        buckets = case when s.buckets is null then null
                       else (select array_agg(a + b order by i)
                             from unnest(s.buckets, excluded.buckets) with ordinality as u(a, b, i)) end;
  get diagnostics v_rows = row_count;
  return v_rows;
end $$;

CREATE FUNCTION public.configure_rate_limit(p_bucket text, p_capacity numeric, p_refill_per_s numeric) RETURNS void
    LANGUAGE sql
    AS $$
  insert into rate_limits (bucket, capacity, refill_per_s, tokens) values (p_bucket, p_capacity, p_refill_per_s, p_capacity)
  on conflict (bucket) do update set capacity = excluded.capacity, refill_per_s = excluded.refill_per_s,
    tokens = least(rate_limits.tokens, excluded.capacity);
$$;

CREATE FUNCTION public.disable_webhook_subscription(p_id bigint, p_reason text, p_alert_severity text DEFAULT NULL::text) RETURNS integer
    LANGUAGE plpgsql
    AS $$
declare
  v_url text;
  v_cancelled int := 0;
  r record;
begin
  update webhook_subscriptions set enabled = false, disabled_at = now(), disabled_reason = p_reason
  where id = p_id and enabled
  returning url into v_url;
  if not found then
    return null;
  end if;
  for r in
    update webhook_messages m set status = 'cancelled', last_error = 'subscription disabled: ' || p_reason
    from webhook_events e
    where m.subscription_id = p_id and m.status = 'pending' and e.id = m.event_id
    returning e.type
  loop
    v_cancelled := v_cancelled + 1;
    perform observe_metric('tvdb_webhook_out_messages_total', jsonb_build_object('type', r.type, 'outcome', 'cancelled'));
  end loop;
  if p_alert_severity is not null then
    -- The URL's host only: a path may carry a token.
    perform raise_alert('webhook_disabled', format('webhook_disabled:%s:%s', p_id, now()), p_alert_severity,
      format('webhook subscription %s (%s) disabled: %s; %s pending message(s) cancelled. Fix the endpoint, then "tvdb webhooks enable %s" and "tvdb webhooks replay %s"',
             p_id, substring(v_url from '^https?://[^/?#]+'), p_reason, v_cancelled, p_id, p_id),
      jsonb_build_object('subscription_id', p_id, 'reason', p_reason, 'cancelled', v_cancelled));
  end if;
  return v_cancelled;
end $$;

CREATE FUNCTION public.dot_product(a real[], b real[]) RETURNS double precision
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
  select sum(x * y) from unnest(a, b) as t(x, y);
$$;

CREATE FUNCTION public.embedding_model_limits(p_model text, p_at timestamp with time zone DEFAULT now()) RETURNS TABLE(max_input_tokens bigint, max_inputs_per_request bigint, max_tokens_per_request bigint)
    LANGUAGE sql STABLE
    AS $$
  select i.amount, n.amount, t.amount
  from (select coalesce(price_at('embeddings', p_model, 'max_input_tokens', p_at),
                        price_at('local', p_model, 'max_input_tokens', p_at)) as amount) i,
       (select coalesce(price_at('embeddings', p_model, 'max_inputs_per_request', p_at),
                        price_at('local', p_model, 'max_inputs_per_request', p_at)) as amount) n,
       (select coalesce(price_at('embeddings', p_model, 'max_tokens_per_request', p_at),
                        price_at('local', p_model, 'max_tokens_per_request', p_at)) as amount) t
  where i.amount is not null and n.amount is not null and t.amount is not null;
$$;

CREATE FUNCTION public.enable_webhook_subscription(p_id bigint) RETURNS boolean
    LANGUAGE plpgsql
    AS $$
begin
  update webhook_subscriptions
  set enabled = true, failing_since = null, disabled_at = null, disabled_reason = null
  where id = p_id;
  return found;
end $$;

CREATE FUNCTION public.enqueue_webhook_line(p_subscription_id bigint, p_line text, p_run_at timestamp with time zone DEFAULT NULL::timestamp with time zone, p_mode text DEFAULT 'preserve_run_at'::text) RETURNS void
    LANGUAGE sql
    AS $$
  select graphile_worker.add_job('webhook__deliver',
    json_build_object('subscriptionId', p_subscription_id, 'line', p_line),
    queue_name => format('webhook:%s:%s', p_subscription_id, abs(hashtext(p_line)) % 16),
    run_at => coalesce(p_run_at, now()),
    max_attempts => 25,
    job_key => format('webhook:%s:%s', p_subscription_id, p_line),
    job_key_mode => p_mode);
$$;

CREATE FUNCTION public.evaluate_pipeline_alerts(p_window interval, p_max_rate numeric, p_min_attempts integer) RETURNS integer
    LANGUAGE plpgsql
    AS $$
declare
  v record;
  v_raised int := 0;
  v_window text := date_bin(p_window, now(), timestamptz '2000-01-01')::text;
begin
  for v in select * from stage_failure_rates(p_window) where attempts >= p_min_attempts and failure_rate > p_max_rate loop
    if raise_alert('stage_failure_rate', format('stage_failure_rate:%s:%s', v.stage, v_window), 'critical',
         format('%s stage: %s of %s attempts failed in the last %s (%s%%, threshold %s%%)', v.stage, v.failures,
                v.attempts, p_window, round(100 * v.failure_rate, 1), round(100 * p_max_rate, 1)),
         jsonb_build_object('stage', v.stage, 'attempts', v.attempts, 'failures', v.failures,
                            'failure_rate', v.failure_rate, 'window', p_window::text)) is not null then
      v_raised := v_raised + 1;
    end if;
  end loop;
  for v in select count(*)::int as jobs, max(in_state_for) as longest, array_agg(distinct state::text) as states
           from stuck_jobs having count(*) > 0 loop
    if raise_alert('stuck_jobs', format('stuck_jobs:%s', v_window), 'warning',
         format('%s job(s) stuck with no task queued (states: %s; longest %s); the reconciler re-enqueues them, see the stuck_jobs view',
                v.jobs, array_to_string(v.states, ', '), date_trunc('second', v.longest)),
         jsonb_build_object('jobs', v.jobs, 'states', v.states, 'longest_s', extract(epoch from v.longest)::int)) is not null then
      v_raised := v_raised + 1;
    end if;
  end loop;
  return v_raised;
end $$;

CREATE FUNCTION public.event_detail_problem(p_to public.job_state, p_detail jsonb) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
    AS $_$
declare
  k text;
  v jsonb;
begin
  if p_detail is null then
    return null;
  end if;
  if jsonb_typeof(p_detail) <> 'object' then
    return 'the detail must be a JSON object';
  end if;
  for k, v in select key, value from jsonb_each(p_detail) loop
    case k
      when 'who' then
        if jsonb_typeof(v) <> 'string' or v #>> '{}' not in ('worker', 'intake', 'reconciler', 'retry') then
          return format('who must be worker, intake, reconciler or retry, not %s', left(v::text, 40));
        end if;
      when 'role' then
        return 'role is recorded by the database (the login role), not given';
      when 'error' then
        if p_to::text not like 'failed_%' then
          return 'error is only recorded on a move into a failed state';
        end if;
        if jsonb_typeof(v) <> 'string' or length(v #>> '{}') > 4000 then
          return 'error must be a text of at most 4000 characters';
        end if;
      when 'error_class' then
        if p_to::text not like 'failed_%' or jsonb_typeof(v) <> 'string'
           or v #>> '{}' not in ('permanent', 'transient', 'out_of_credits') then
          return 'error_class must be permanent, transient or out_of_credits, on a move into a failed state';
        end if;
      when 'attempt' then
        if jsonb_typeof(v) <> 'number' or (v #>> '{}')::numeric < 1 then
          return 'attempt must be a positive number';
        end if;
      else
        if k !~ '^[a-z][a-z0-9_]{0,62}$' then
          return format('%s is not a detail field', left(k, 40));
        end if;
        -- The stages' own fields (pages, failed_pages, model, ...): any JSON value. They are facts
        -- of the move that only the pipeline knows; the audit fields above are what is checked.
        null;
    end case;
  end loop;
  return null;
end $_$;

CREATE FUNCTION public.expire_reservations() RETURNS integer
    LANGUAGE plpgsql
    AS $$
declare
  v_id bigint;
  v_n int := 0;
begin
  for v_id in
    select id from budget_reservations where status = 'held' and expires_at <= now() order by id for update skip locked
  loop
    perform charge_pending_call(v_id, 'the reservation expired with its paid call unrecorded');
    update budget_reservations set status = 'expired' where id = v_id;
    v_n := v_n + 1;
  end loop;
  return v_n;
end $$;

CREATE FUNCTION public.extend_stage_lease(p_job_id uuid, p_stage text, p_token bigint, p_for interval, p_at_least boolean DEFAULT false) RETURNS boolean
    LANGUAGE sql
    AS $$
  update stage_leases
  set expires_at = case when p_at_least then greatest(expires_at, clock_timestamp() + p_for) else clock_timestamp() + p_for end
  where job_id = p_job_id and stage = p_stage and token = p_token
  returning true;
$$;

CREATE FUNCTION public.fail_job(p_job_id uuid, p_failed_state public.job_state, p_detail jsonb) RETURNS text
    LANGUAGE plpgsql
    AS $$
declare
  v_state job_state;
begin
  select state into v_state from jobs where id = p_job_id for update;
  if not found then
    raise exception 'job % does not exist', p_job_id using errcode = 'TV004';
  end if;
  return advance_job(p_job_id, v_state, p_failed_state, p_detail);
end $$;

CREATE FUNCTION public.fence_stage_run(p_job_id uuid, p_stage text, p_token bigint) RETURNS void
    LANGUAGE plpgsql
    AS $$
begin
  perform 1 from jobs where id = p_job_id for no key update;
  perform 1 from stage_leases where job_id = p_job_id and stage = p_stage and token = p_token for update;
  if not found then
    raise exception 'stage run of % for job % lost its lease (token %): another run has the stage', p_stage, p_job_id, p_token
      using errcode = 'TV005';
  end if;
end $$;

CREATE FUNCTION public.finish_stage_run(p_job_id uuid, p_from public.job_state, p_done public.job_state, p_handoff public.job_state, p_detail jsonb, p_next_task text, p_next_payload json, p_next_key text, p_next_max_attempts integer) RETURNS text
    LANGUAGE plpgsql
    AS $$
declare
  v_moved text;
begin
  v_moved := advance_job(p_job_id, p_from, p_done, p_detail);
  if v_moved = 'already_there' then
    return v_moved;
  end if;
  if p_handoff is not null then
    perform advance_job(p_job_id, p_done, p_handoff, '{"who": "worker"}'::jsonb);
  end if;
  if p_next_task is not null then
    perform graphile_worker.add_job(p_next_task, p_next_payload, max_attempts => p_next_max_attempts,
                                    job_key => p_next_key);
  end if;
  return v_moved;
end $$;

CREATE FUNCTION public.grant_application_role(p_role name) RETURNS void
    LANGUAGE plpgsql
    AS $$
declare
  t record;
  v_cols text;
begin
  execute format('grant usage on schema public, graphile_worker to %I', p_role);
  execute format('grant select, insert, update, delete on all tables in schema public, graphile_worker to %I', p_role);
  execute format('grant usage, select on all sequences in schema public, graphile_worker to %I', p_role);
  execute format('grant execute on all functions in schema public, graphile_worker to %I', p_role);
  execute format('revoke insert, update, delete on job_events, job_state_transitions, pipeline_stages, '
                 'pipeline_stage_tasks, budget_stages, price_catalog, pgmigrations, applied_definitions, graphile_worker.migrations from %I', p_role);
  execute format('revoke update, delete on cost_ledger from %I', p_role);
  execute format('revoke execute on function grant_application_role(name) from %I', p_role);
  -- Views: read only, every one of them (and any added later, at the next migrate).
  for t in select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
           where n.nspname in ('public', 'graphile_worker') and c.relkind in ('v', 'm') loop
    execute format('revoke insert, update, delete, truncate on %I.%I from %I', t.nspname, t.relname, p_role);
  end loop;
  -- jobs: the state moves through advance_job only; identity and timing are the database's.
  select string_agg(quote_ident(attname), ', ' order by attnum) into v_cols from pg_attribute
  where attrelid = 'public.jobs'::regclass and attnum > 0 and not attisdropped
    and attname not in ('id', 'state', 'state_changed_at', 'created_at', 'updated_at', 'correlation_id');
  execute format('revoke update on jobs from %I', p_role);
  execute format('grant update (%s) on jobs to %I', v_cols, p_role);
  -- cost_ledger: a row's time of record is now(); reversals are written by the ledger's trigger.
  select string_agg(quote_ident(attname), ', ' order by attnum) into v_cols from pg_attribute
  where attrelid = 'public.cost_ledger'::regclass and attnum > 0 and not attisdropped
    and attname not in ('id', 'at', 'reverses_ledger_id');
  execute format('revoke insert on cost_ledger from %I', p_role);
  execute format('grant insert (%s) on cost_ledger to %I', v_cols, p_role);
  for t in select c.relname from pg_class c
           where c.relnamespace = 'graphile_worker'::regnamespace and c.relkind = 'r' and c.relrowsecurity
             and not exists (select 1 from pg_policy p where p.polrelid = c.oid and p.polname = 'tvdb_' || p_role) loop
    execute format('create policy %I on graphile_worker.%I to %I using (true) with check (true)',
                   'tvdb_' || p_role, t.relname, p_role);
  end loop;
end $$;

CREATE FUNCTION public.job_note_problem(p_detail jsonb) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
    AS $$
declare
  v_shape jsonb;
  v_event text;
  k text;
  t text;
  v jsonb;
begin
  if p_detail is null or jsonb_typeof(p_detail) <> 'object' then
    return 'a note is a JSON object';
  end if;
  v_event := p_detail ->> 'event';
  v_shape := job_note_shapes() -> v_event;
  if v_shape is null then
    return format('%s is not a note the pipeline writes', coalesce(left(v_event, 60), 'a note without an event'));
  end if;
  for k, t in select key, value #>> '{}' from jsonb_each(v_shape) loop
    if k not like '%?' and not p_detail ? k then
      return format('a %s note needs %s', v_event, k);
    end if;
  end loop;
  for k, v in select key, value from jsonb_each(p_detail) loop
    continue when k = 'event';
    t := coalesce(v_shape ->> k, v_shape ->> (k || '?'));
    if t is null then
      return format('a %s note has no field %s', v_event, left(k, 60));
    end if;
    if jsonb_typeof(v) <> t and not (jsonb_typeof(v) = 'null' and v_shape ? (k || '?')) then
      return format('%s of a %s note must be a %s', k, v_event, t);
    end if;
    if t = 'string' and length(v #>> '{}') > 4000 then
      return format('%s of a %s note is longer than 4000 characters', k, v_event);
    end if;
  end loop;
  if v_event = 'attempt_failed' then
    if not exists (select 1 from pipeline_stages where stage = p_detail ->> 'stage') then
      return format('%s is not a pipeline stage', left(p_detail ->> 'stage', 60));
    end if;
    if p_detail ->> 'error_class' not in ('transient', 'permanent', 'out_of_credits') then
      return 'error_class must be transient, permanent or out_of_credits';
    end if;
  end if;
  return null;
end $$;

CREATE FUNCTION public.job_note_shapes() RETURNS jsonb
    LANGUAGE sql IMMUTABLE
    AS $$
  select '{
    "attempt_failed": {"stage": "string", "error_class": "string", "error": "string", "attempt?": "number",
                       "max_attempts?": "number", "next_run_at?": "string"},
    "stage_busy": {"stage": "string"},
    "waiting_for_credits": {"error": "string"},
    "budget_slowdown": {"service": "string", "share_used": "number", "delay_s": "number"},
    "waiting_for_budget": {"service": "string", "estimate_micro_usd": "number", "reason": "string"},
    "breaker_open": {"service": "string", "retry_in_s": "number"},
    "rate_limited": {"service": "string", "bucket": "string", "wait_s?": "number"},
    "reconciled": {"state": "string", "action": "string"},
    "submitted_to_llamaparse": {"llamaparse_job_id": "string", "mode": "string", "pages": "number",
                                "pages_counted_by": "string", "max_micro_usd": "number", "adopted?": "boolean"},
    "llamaparse_timeout": {"llamaparse_job_id": "string", "status": "string", "waited_s": "number", "action": "string",
                           "credits?": "number", "billed?": "boolean"},
    "llamaparse_job_abandoned": {"llamaparse_job_id": "string", "credits": "number", "estimated": "boolean",
                                 "reason": "string"},
    "llamaparse_cancelled_job_billed": {"llamaparse_job_id": "string", "credits": "number", "status": "string"},
    "unrecorded_call_charged": {"stage": "string", "service": "string", "estimate_micro_usd": "number",
                                "why": "string", "call_started_at?": "string"},
    "estimate_replaced": {"service": "string", "external_id": "string", "estimate_micro_usd": "number",
                          "billed_micro_usd": "number"},
    "text_left_out": {"stage": "string", "images": "number", "runs": "number", "chars_left_out": "object",
                      "tokens_before": "number", "tokens_after": "number", "tokens_left_out": "number"}
  }'::jsonb;
$$;

CREATE FUNCTION public.name_paid_call(p_job_id uuid, p_stage text, p_lease_token bigint, p_ref text) RETURNS void
    LANGUAGE sql
    AS $$
  update budget_reservations set pending_call_ref = p_ref
  where id = (
    select id from budget_reservations
    where job_id = p_job_id and stage = p_stage
      and ((status = 'held' and pending_call_micro_usd > 0
            and (pending_call_token is null or p_lease_token is null or pending_call_token <= p_lease_token))
           or (p_lease_token is not null and pending_call_token = p_lease_token))
    order by id desc limit 1);
$$;

CREATE FUNCTION public.observe_metric(p_name text, p_labels jsonb, p_value double precision DEFAULT 1, p_bounds double precision[] DEFAULT NULL::double precision[]) RETURNS void
    LANGUAGE plpgsql
    AS $$
declare
  v_shard smallint := pg_backend_pid() % 8;
  v_slot int;
  v_buckets bigint[];
begin
  if p_bounds is not null then
    v_slot := coalesce((select min(i) from generate_subscripts(p_bounds, 1) i where p_value <= p_bounds[i]),
                       cardinality(p_bounds) + 1);
    v_buckets := array_fill(0::bigint, array[cardinality(p_bounds) + 1]);
    v_buckets[v_slot] := 1;
  end if;
  insert into metric_series as m (name, labels, shard, count, sum, bounds, buckets)
  values (p_name, coalesce(p_labels, '{}'), v_shard, 1, p_value, p_bounds, v_buckets)
  on conflict (name, labels, shard) do update
    set count = m.count + 1,
        sum = m.sum + excluded.sum,
        buckets = case when m.buckets is null then null
                       else (select array_agg(a + b order by i)
                             from unnest(m.buckets, excluded.buckets) with ordinality as u(a, b, i)) end;
end $$;

CREATE FUNCTION public.price_at(p_service text, p_sku text, p_unit text, p_at timestamp with time zone DEFAULT now()) RETURNS bigint
    LANGUAGE sql STABLE
    AS $$
  select amount from price_catalog
  where service = p_service and sku = p_sku and unit = p_unit and effective_from <= p_at
  order by effective_from desc limit 1;
$$;

CREATE FUNCTION public.processes_in_domain(p_domain text, p_self_pid integer) RETURNS TABLE(pid integer, pid_start text)
    LANGUAGE sql STABLE
    AS $$
  select holder_pid, holder_pid_start from stage_leases
  where holder_domain = p_domain and holder_pid <> p_self_pid and holder_pid_start is not null
  union
  select w.pid, w.pid_start from worker_processes w
  where w.domain = p_domain and w.pid <> p_self_pid and w.pid_start is not null;
$$;

CREATE FUNCTION public.prune_growing_history(p_before timestamp with time zone, p_batch integer) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
declare
  v_counts jsonb := '{}';
  v_rows int;
  v_mark bigint;
  v_ids bigint[];
  v_first_open bigint;
  v_last bigint;
  v_passed int;
begin
  -- Attempts of messages that are no longer pending (the message's own row may be newer).
  delete from webhook_attempts where id = any (array(
    select a.id from webhook_attempts a join webhook_messages m on m.id = a.message_id
    where a.at < p_before and m.status <> 'pending' order by a.id limit p_batch));
  get diagnostics v_rows = row_count;
  v_counts := v_counts || jsonb_build_object('webhook_attempts', v_rows);

  delete from webhook_messages where id = any (array(
    select id from webhook_messages where status <> 'pending' and created_at < p_before limit p_batch));
  get diagnostics v_rows = row_count;
  v_counts := v_counts || jsonb_build_object('webhook_messages', v_rows);

  delete from webhook_events where id = any (array(
    select e.id from webhook_events e
    where e.created_at < p_before
      and not exists (select 1 from webhook_messages m where m.event_id = e.id)
      and (e.job_id is null
           or exists (select 1 from webhook_events n where n.job_id = e.job_id and n.sequence > e.sequence))
    limit p_batch));
  get diagnostics v_rows = row_count;
  v_counts := v_counts || jsonb_build_object('webhook_events', v_rows);

  delete from webhook_subscriptions where id = any (array(
    select s.id from webhook_subscriptions s
    where s.callback and s.created_at < p_before
      and not exists (select 1 from webhook_messages m
                      where m.subscription_id = s.id and (m.status = 'pending' or m.created_at >= p_before))
      and not exists (select 1 from webhook_subscription_jobs l join jobs j on j.id = l.job_id
                      where l.subscription_id = s.id
                        and (j.state not in ('complete', 'failed_parse', 'failed_chunking', 'failed_embedding')
                             or j.updated_at >= p_before))
    order by s.id limit p_batch));
  get diagnostics v_rows = row_count;
  v_counts := v_counts || jsonb_build_object('callback_subscriptions', v_rows);

  -- Reservations from the watermark on, in id order: a settled one (not held, no pending call,
  -- settled or expired before p_before) is deleted unless the ledger names it; the watermark stops
  -- before the first one that is not settled yet, which a later run visits again.
  insert into retention_watermarks (name, last_id) values ('budget_reservations', 0) on conflict do nothing;
  select last_id into v_mark from retention_watermarks where name = 'budget_reservations' for update;
  select array_agg(id order by id), max(id),
         min(id) filter (where status = 'held' or pending_call_micro_usd > 0
                           or coalesce(settled_at, expires_at) >= p_before)
    into v_ids, v_last, v_first_open
  from (select id, status, pending_call_micro_usd, settled_at, expires_at from budget_reservations
        where id > v_mark order by id limit p_batch) r;
  v_rows := 0;
  v_passed := 0;
  if v_ids is not null then
    delete from budget_reservations r
    where r.id = any (v_ids) and (v_first_open is null or r.id < v_first_open)
      and not exists (select 1 from cost_ledger l where l.reservation_id = r.id);
    get diagnostics v_rows = row_count;
    if coalesce(v_first_open - 1, v_last) > v_mark then
      update retention_watermarks set last_id = coalesce(v_first_open - 1, v_last) where name = 'budget_reservations';
      v_passed := 1;
    end if;
  end if;
  -- Whether the watermark moved: the caller goes on while anything was deleted or passed.
  v_counts := v_counts || jsonb_build_object('budget_reservations', v_rows, 'budget_reservations_passed', v_passed);

  delete from alerts where id = any (array(
    select id from alerts where last_seen_at < p_before order by last_seen_at limit p_batch));
  get diagnostics v_rows = row_count;
  v_counts := v_counts || jsonb_build_object('alerts', v_rows);
  return v_counts;
end $$;

CREATE FUNCTION public.prune_webhook_history(p_before timestamp with time zone, p_batch integer) RETURNS integer
    LANGUAGE plpgsql
    AS $$
declare
  v_total int := 0;
  v_rows int;
begin
  delete from webhook_deliveries where event_id in (
    select event_id from webhook_deliveries where received_at < p_before limit p_batch);
  get diagnostics v_rows = row_count;
  v_total := v_total + v_rows;
  delete from webhook_refusal_log where id in (
    select id from webhook_refusal_log where at < p_before order by id limit p_batch);
  get diagnostics v_rows = row_count;
  v_total := v_total + v_rows;
  delete from webhook_refusal_counts where (minute, source, reason, http_status) in (
    select minute, source, reason, http_status from webhook_refusal_counts where minute < p_before limit p_batch);
  get diagnostics v_rows = row_count;
  return v_total + v_rows;
end $$;

CREATE FUNCTION public.publish_webhook_event(p_type text, p_job_id uuid, p_data jsonb) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
declare
  v_subscriptions bigint[];
  v_sequence int;
  v_event bigint;
  v_line text;
  v_sub bigint;
begin
  select array_agg(s.id order by s.id) into v_subscriptions
  from webhook_subscriptions s
  where s.enabled and p_type = any (s.events)
    and (not s.callback or exists (select 1 from webhook_subscription_jobs l
                                   where l.job_id = p_job_id and l.subscription_id = s.id));
  if v_subscriptions is null then
    return null;
  end if;
  if p_job_id is not null then
    select coalesce(max(sequence), 0) + 1 into v_sequence from webhook_events where job_id = p_job_id;
  end if;
  insert into webhook_events (type, job_id, sequence, payload)
  values (p_type, p_job_id, v_sequence, jsonb_build_object(
    'type', p_type,
    'timestamp', to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    'data', p_data || case when v_sequence is null then '{}'::jsonb else jsonb_build_object('sequence', v_sequence) end))
  returning id into v_event;
  v_line := coalesce(p_job_id::text, 'event:' || v_event);
  foreach v_sub in array v_subscriptions loop
    insert into webhook_messages (subscription_id, event_id, line) values (v_sub, v_event, v_line);
    perform enqueue_webhook_line(v_sub, v_line);
  end loop;
  return v_event;
end $$;

CREATE FUNCTION public.publish_webhook_test(p_subscription_id bigint) RETURNS TABLE(event_id bigint, webhook_id text, message_id bigint)
    LANGUAGE plpgsql
    AS $$
declare
  v_event bigint;
  v_webhook_id text;
  v_message bigint;
begin
  insert into webhook_events (type, payload)
  values ('webhook.test', jsonb_build_object(
    'type', 'webhook.test',
    'timestamp', to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    'data', jsonb_build_object('subscription_id', p_subscription_id,
                               'message', 'a test delivery from tvdb: your endpoint receives and verifies webhooks')))
  returning id, webhook_events.webhook_id into v_event, v_webhook_id;
  insert into webhook_messages (subscription_id, event_id, line)
  values (p_subscription_id, v_event, 'event:' || v_event)
  returning id into v_message;
  perform enqueue_webhook_line(p_subscription_id, 'event:' || v_event);
  return query select v_event, v_webhook_id, v_message;
end $$;

CREATE FUNCTION public.raise_alert(p_kind text, p_key text, p_severity text, p_message text, p_detail jsonb DEFAULT '{}'::jsonb) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
declare
  v_id bigint;
  v_new boolean;
begin
  insert into alerts as a (kind, dedupe_key, severity, message, detail)
  values (p_kind, p_key, p_severity, p_message, coalesce(p_detail, '{}'))
  on conflict (dedupe_key) do update set occurrences = a.occurrences + 1, last_seen_at = now()
  returning id, (xmax = 0) into v_id, v_new;
  if v_new then
    perform graphile_worker.add_job('alert__deliver', json_build_object('alertId', v_id), max_attempts => 10);
    perform observe_metric('tvdb_alerts_total', jsonb_build_object('kind', p_kind, 'severity', p_severity));
    return v_id;
  end if;
  return null;
end $$;

CREATE FUNCTION public.reap_dead_workers(p_stale interval) RETURNS SETOF text
    LANGUAGE plpgsql
    AS $$
declare
  v_dead text[];
begin
  with dead as (
    delete from worker_processes where heartbeat_at < now() - p_stale returning pool_id
  ) select array_agg(pool_id) into v_dead from dead;
  if v_dead is not null then
    perform graphile_worker.force_unlock_workers(v_dead);
    return query select unnest(v_dead);
  end if;
end $$;

CREATE FUNCTION public.record_webhook_attempt(p_message_id bigint, p_outcome text, p_http_status integer, p_latency_ms integer, p_excerpt text, p_error text, p_next_attempt_at timestamp with time zone, p_give_up boolean, p_disable_after interval) RETURNS TABLE(message_status text, subscription_enabled boolean)
    LANGUAGE plpgsql
    AS $$
declare
  m record;
  v_status text;
  v_since timestamptz;
  v_error text := case when p_outcome = 'delivered' then null
                       else left(coalesce(p_error, format('HTTP %s', p_http_status)), 1000) end;
begin
  select wm.id, wm.subscription_id, wm.line, wm.status, wm.attempts, e.type into m
  from webhook_messages wm join webhook_events e on e.id = wm.event_id
  where wm.id = p_message_id
  for update of wm;
  if not found then
    return query select 'removed'::text, false; -- the subscription was removed meanwhile
    return;
  end if;
  v_status := case when p_outcome = 'delivered' then 'delivered'
                   when m.status <> 'pending' then m.status
                   when p_give_up then 'failed'
                   else 'pending' end;
  insert into webhook_attempts (message_id, attempt, outcome, http_status, latency_ms, response_excerpt, error, next_attempt_at)
  values (m.id, m.attempts + 1, p_outcome, p_http_status, p_latency_ms, left(p_excerpt, 500), v_error,
          case when v_status = 'pending' then p_next_attempt_at end);
  update webhook_messages
  set attempts = attempts + 1, status = v_status,
      next_attempt_at = case when v_status = 'pending' then coalesce(p_next_attempt_at, now()) else next_attempt_at end,
      delivered_at = case when v_status = 'delivered' then now() else delivered_at end,
      last_error = v_error
  where id = m.id;
  perform observe_metric('tvdb_webhook_out_attempt_duration_seconds',
    jsonb_build_object('type', m.type, 'outcome', p_outcome), p_latency_ms / 1000.0, webhook_latency_bounds());
  if v_status <> m.status and v_status <> 'pending' then
    perform observe_metric('tvdb_webhook_out_messages_total', jsonb_build_object('type', m.type, 'outcome', v_status));
  end if;
  if p_outcome = 'delivered' then
    update webhook_subscriptions set failing_since = null, last_success_at = now() where id = m.subscription_id;
  else
    update webhook_subscriptions set failing_since = coalesce(failing_since, now())
    where id = m.subscription_id returning failing_since into v_since;
    if p_outcome = 'gone' then
      perform disable_webhook_subscription(m.subscription_id, 'the endpoint answered 410 Gone', 'warning');
    elsif v_since < now() - p_disable_after then
      perform disable_webhook_subscription(m.subscription_id,
        format('every delivery failed since %s (longer than %s); last: %s',
               date_trunc('second', v_since), p_disable_after, v_error), 'critical');
    end if;
  end if;
  -- Still pending (and not cancelled by a disable above): the line's task runs again at the retry time.
  select status into v_status from webhook_messages where id = m.id;
  if v_status = 'pending' then
    perform enqueue_webhook_line(m.subscription_id, m.line, coalesce(p_next_attempt_at, now()), 'replace');
  end if;
  return query select v_status, (select enabled from webhook_subscriptions where id = m.subscription_id);
end $$;

CREATE FUNCTION public.record_webhook_deliveries(p_deliveries jsonb, p_max_attempts integer) RETURNS TABLE(ordinal integer, outcome text, job_id uuid, acted boolean, detail text)
    LANGUAGE plpgsql
    AS $$
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

CREATE FUNCTION public.record_webhook_refusal(p_reason text, p_status integer, p_address inet, p_detail text, p_rows_per_minute integer) RETURNS boolean
    LANGUAGE plpgsql
    AS $$
declare
  v_source text := webhook_refusal_source(p_address);
  v_minute timestamptz := date_trunc('minute', now());
  v_store boolean;
begin
  perform set_config('synchronous_commit', 'off', true);
  perform pg_advisory_xact_lock(1647, hashtext(v_source));
  v_store := coalesce((select sum(stored) from webhook_refusal_counts where minute = v_minute and source = v_source), 0)
             < p_rows_per_minute;
  insert into webhook_refusal_counts as c (minute, source, reason, http_status, refusals, stored)
  values (v_minute, v_source, p_reason, p_status, 1, v_store::int)
  on conflict (minute, source, reason, http_status) do update
    set refusals = c.refusals + 1, stored = c.stored + excluded.stored, last_at = now();
  perform observe_metric('tvdb_webhook_deliveries_total', jsonb_build_object('outcome', 'refused', 'reason', p_reason));
  if v_store then
    insert into webhook_refusal_log (reason, http_status, source_address, detail)
    values (p_reason, p_status, p_address, left(p_detail, 500));
  end if;
  return v_store;
end $$;

CREATE FUNCTION public.release_dead_process(p_domain text, p_pid integer, p_pid_start text) RETURNS TABLE(leases integer, pools text[])
    LANGUAGE plpgsql
    AS $$
declare
  v_leases int;
  v_pools text[];
begin
  delete from stage_leases
  where holder_domain = p_domain and holder_pid = p_pid and holder_pid_start = p_pid_start;
  get diagnostics v_leases = row_count;
  with dead as (
    delete from worker_processes w
    where w.domain = p_domain and w.pid = p_pid and w.pid_start = p_pid_start returning w.pool_id
  ) select array_agg(pool_id) into v_pools from dead;
  if v_pools is not null then
    perform graphile_worker.force_unlock_workers(v_pools);
  end if;
  return query select v_leases, coalesce(v_pools, '{}'::text[]);
end $$;

CREATE FUNCTION public.release_reservation(p_job_id uuid, p_stage text) RETURNS void
    LANGUAGE plpgsql
    AS $$
declare
  v_id bigint;
begin
  for v_id in select id from budget_reservations where job_id = p_job_id and stage = p_stage and status = 'held' for update
  loop
    perform charge_pending_call(v_id, 'the stage gave up with its paid call unrecorded');
    update budget_reservations set status = 'released', settled_at = now() where id = v_id;
  end loop;
end $$;

CREATE FUNCTION public.release_stage_lease(p_job_id uuid, p_stage text, p_token bigint) RETURNS void
    LANGUAGE sql
    AS $$
  delete from stage_leases where job_id = p_job_id and stage = p_stage and token = p_token;
$$;

CREATE FUNCTION public.replay_webhook_messages(p_subscription_id bigint, p_statuses text[], p_webhook_id text DEFAULT NULL::text, p_since timestamp with time zone DEFAULT NULL::timestamp with time zone) RETURNS integer
    LANGUAGE plpgsql
    AS $$
declare
  v_count int;
  v_lines text[];
  v_line text;
begin
  with chosen as (
    update webhook_messages m
    set status = 'pending', next_attempt_at = now(), window_started_at = now(), last_error = null
    from webhook_events e
    where e.id = m.event_id and m.subscription_id = p_subscription_id and m.status = any (p_statuses)
      and (p_webhook_id is null or e.webhook_id = p_webhook_id)
      and (p_since is null or e.created_at >= p_since)
    returning m.line
  )
  select count(*)::int, array_agg(distinct line) into v_count, v_lines from chosen;
  foreach v_line in array coalesce(v_lines, '{}') loop
    perform enqueue_webhook_line(p_subscription_id, v_line, null, 'replace');
  end loop;
  return v_count;
end $$;

CREATE FUNCTION public.requeue_stranded_webhook_lines() RETURNS integer
    LANGUAGE plpgsql
    AS $$
declare
  r record;
  v_count int := 0;
begin
  for r in
    select distinct m.subscription_id, m.line
    from webhook_messages m join webhook_subscriptions s on s.id = m.subscription_id
    where m.status = 'pending' and s.enabled and m.next_attempt_at < now() - interval '2 minutes'
      and not exists (select 1 from graphile_worker.jobs g
                      where g.key = format('webhook:%s:%s', m.subscription_id, m.line) and g.attempts < g.max_attempts)
  loop
    perform enqueue_webhook_line(r.subscription_id, r.line, null, 'replace');
    v_count := v_count + 1;
  end loop;
  return v_count;
end $$;

CREATE FUNCTION public.reserve_budget(p_job_id uuid, p_stage text, p_service text, p_amount bigint, p_ttl interval DEFAULT '01:00:00'::interval, p_lease_token bigint DEFAULT NULL::bigint) RETURNS TABLE(reservation_id bigint, refused_by text, reused boolean)
    LANGUAGE plpgsql
    AS $$
declare
  v_existing budget_reservations;
  v_outstanding bigint;
  v_refusal text;
  v_stale boolean;
begin
  perform pg_advisory_xact_lock(hashtextextended('reserve_budget:' || p_job_id::text || ':' || p_stage, 0));
  -- Expired holds of this (job, stage) are closed (their unrecorded call charged) first.
  perform charge_pending_call(id, 'the reservation expired with its paid call unrecorded')
    from budget_reservations where job_id = p_job_id and stage = p_stage and status = 'held' and expires_at <= now();
  update budget_reservations set status = 'expired'
  where job_id = p_job_id and stage = p_stage and status = 'held' and expires_at <= now();
  select * into v_existing from budget_reservations
  where job_id = p_job_id and stage = p_stage and status = 'held';
  if found then
    -- A run that lost the stage (a newer run holds its lease) changes nothing: the pending call may
    -- be the newer run's own.
    v_stale := p_lease_token is not null and exists (
      select 1 from stage_leases where job_id = p_job_id and stage = p_stage and token > p_lease_token);
    if v_stale then
      return query select v_existing.id, null::text, true;
      return;
    end if;
    -- Only a call begun by an earlier run is charged: the caller's own is still in its hands.
    if p_lease_token is null or coalesce(v_existing.pending_call_token, 0) < p_lease_token then
      perform charge_pending_call(v_existing.id, 'a new run took over the reservation; the previous run''s paid call was never recorded');
    end if;
    select greatest(0, v_existing.amount_micro_usd - coalesce(sum(l.cost_micro_usd), 0))::bigint into v_outstanding
    from cost_ledger l where l.reservation_id = v_existing.id;
    if v_outstanding < p_amount then
      v_refusal := budget_refusal(p_service, p_amount - v_outstanding);
      if v_refusal is not null then
        return query select null::bigint, v_refusal, true;
        return;
      end if;
      update budget_reservations set amount_micro_usd = amount_micro_usd + (p_amount - v_outstanding)
      where id = v_existing.id;
    end if;
    update budget_reservations set expires_at = greatest(expires_at, now() + p_ttl) where id = v_existing.id;
    return query select v_existing.id, null::text, true;
    return;
  end if;
  v_refusal := budget_refusal(p_service, p_amount);
  if v_refusal is not null then
    return query select null::bigint, v_refusal, false;
    return;
  end if;
  return query
    insert into budget_reservations (job_id, stage, service, amount_micro_usd, expires_at)
    values (p_job_id, p_stage, p_service, p_amount, now() + p_ttl)
    returning id, null::text, false;
end $$;

CREATE FUNCTION public.reserve_request_budget(p_request_id uuid, p_stage text, p_service text, p_amount bigint, p_ttl interval) RETURNS TABLE(reservation_id bigint, refused_by text)
    LANGUAGE plpgsql
    AS $$
declare
  v_refusal text;
begin
  v_refusal := budget_refusal(p_service, p_amount);
  if v_refusal is not null then
    return query select null::bigint, v_refusal;
    return;
  end if;
  return query
    insert into budget_reservations (request_id, stage, service, amount_micro_usd, expires_at)
    values (p_request_id, p_stage, p_service, p_amount, now() + p_ttl)
    returning id, null::text;
end $$;

CREATE FUNCTION public.reset_breaker(p_service text, p_who text) RETURNS text
    LANGUAGE plpgsql
    AS $$
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

CREATE FUNCTION public.retry_job(p_job_id uuid, p_max_attempts jsonb, p_who text DEFAULT 'retry'::text) RETURNS TABLE(outcome text, from_state public.job_state, to_state public.job_state)
    LANGUAGE plpgsql
    AS $$
declare
  j record;
  s record;
begin
  select id, state, correlation_id into j from jobs where id = p_job_id for update;
  if not found then
    return query select 'no such job', null::job_state, null::job_state;
    return;
  end if;
  select * into s from pipeline_stages where failed = j.state;
  if not found then
    return query select format('job is %s, not failed', j.state), j.state, null::job_state;
    return;
  end if;
  if s.stage = 'parse' then
    update jobs set llamaparse_job_id = null, parse_submitted_at = null, parse_resubmissions = 0 where id = j.id;
  end if;
  perform advance_job(j.id, j.state, s.retry_to, jsonb_build_object('who', p_who));
  perform graphile_worker.add_job(s.task, stage_task_payload(j.id, j.correlation_id),
    max_attempts => (p_max_attempts ->> s.stage)::int, job_key => stage_task_job_key(s.task, j.id),
    job_key_mode => 'replace');
  return query select 'retried', j.state, s.retry_to;
end $$;

CREATE FUNCTION public.settle_reservation(p_reservation_id bigint) RETURNS void
    LANGUAGE sql
    AS $$
  update budget_reservations set status = 'settled', settled_at = now() where id = p_reservation_id and status = 'held';
$$;

CREATE FUNCTION public.stage_duration_bounds() RETURNS double precision[]
    LANGUAGE sql IMMUTABLE
    AS $$
  select array[0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 1800, 3600]::double precision[]
$$;

CREATE FUNCTION public.stage_failure_rates(p_window interval) RETURNS TABLE(stage text, attempts integer, failures integer, failure_rate numeric)
    LANGUAGE sql STABLE
    AS $$
  with w as (
    select s.stage,
           count(*) filter (where e.kind = 'transition' and e.to_state = s.done_state) as ok,
           count(*) filter (where e.kind = 'transition' and e.to_state = s.failed_state) as failed,
           count(*) filter (where e.kind = 'note' and e.detail ->> 'event' = 'attempt_failed') as retried
    from stage_outcome_states s
    left join job_events e on e.at > now() - p_window and (
      (e.kind = 'transition' and e.to_state in (s.done_state, s.failed_state))
      or (e.kind = 'note' and e.detail ->> 'stage' = s.stage))
    group by s.stage
  )
  select stage, (ok + failed + retried)::int, (failed + retried)::int,
         case when ok + failed + retried = 0 then 0 else round((failed + retried)::numeric / (ok + failed + retried), 4) end
  from w order by stage;
$$;

CREATE FUNCTION public.stage_task_job_key(p_task text, p_job_id uuid) RETURNS text
    LANGUAGE sql STABLE
    AS $$
  select t.job_key_prefix || ':' || p_job_id from pipeline_tasks t where t.task = p_task;
$$;

CREATE FUNCTION public.stage_task_payload(p_job_id uuid, p_correlation_id text, p_extra jsonb DEFAULT '{}'::jsonb) RETURNS json
    LANGUAGE sql IMMUTABLE
    AS $$
  select (jsonb_build_object('jobId', p_job_id, 'correlationId', p_correlation_id) || coalesce(p_extra, '{}'))::json;
$$;

CREATE FUNCTION public.stranded_task_error(p_job_id uuid) RETURNS text
    LANGUAGE sql STABLE
    AS $$
  select coalesce(g.last_error, format('no error recorded: the worker running it stopped in each of its %s attempts', g.attempts))
  from graphile_worker.jobs g
  where g.key in (select stage_task_job_key(t.task, p_job_id) from pipeline_tasks t) and g.attempts >= g.max_attempts
  order by g.updated_at desc limit 1;
$$;

CREATE FUNCTION public.take_rate_tokens(p_bucket text, p_cost numeric) RETURNS double precision
    LANGUAGE plpgsql
    AS $$
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

CREATE FUNCTION public.tg_alerts__publish_webhook_event() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
declare
  v_type text;
begin
  select type into v_type from webhook_event_types where alert_kind = new.kind;
  if v_type is not null then
    perform publish_webhook_event(v_type, null, jsonb_build_object(
      'alert_id', new.id, 'kind', new.kind, 'severity', new.severity, 'message', new.message,
      'detail', new.detail, 'created_at', new.created_at));
  end if;
  return null;
end $$;

CREATE FUNCTION public.tg_append_only() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
  raise exception '% is append-only: % refused', tg_table_name, tg_op
    using errcode = 'TV003';
end $$;

CREATE FUNCTION public.tg_chunks__text_search() RETURNS trigger
    LANGUAGE plpgsql STABLE
    AS $$
begin
  new.text_search := to_tsvector(new.text_search_language::regconfig, new.content);
  return new;
end $$;

CREATE FUNCTION public.tg_circuit_breakers__record() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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

CREATE FUNCTION public.tg_cost_ledger__budget_alerts() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
declare
  v record;
begin
  for v in
    select s.*, t.share as threshold
    from budget_status s join budget_alert_thresholds t
      on s.limit_micro_usd > 0 and s.spent_micro_usd::numeric / s.limit_micro_usd >= t.share
  loop
    perform raise_alert(
      'budget_threshold',
      format('budget:%s:%s:%s', v.budget_id, v.threshold, v.period_start),
      case when v.threshold >= 1 then 'critical' else 'warning' end,
      format('%s %s budget at %s%% (%s of %s micro-USD spent; threshold %s%%)', v.scope, v.period,
             round(100 * v.spent_micro_usd::numeric / v.limit_micro_usd), v.spent_micro_usd, v.limit_micro_usd, round(100 * v.threshold)),
      jsonb_build_object('budget_id', v.budget_id, 'scope', v.scope, 'period', v.period, 'threshold', v.threshold,
                         'spent_micro_usd', v.spent_micro_usd, 'limit_micro_usd', v.limit_micro_usd, 'period_start', v.period_start));
  end loop;
  return null;
end $$;

CREATE FUNCTION public.tg_cost_ledger__check_lease() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
  if new.lease_token is not null and not exists (
    select 1 from stage_leases where job_id = new.job_id and token = new.lease_token
  ) then
    raise exception 'ledger row for job % carries a stale lease token %: its run lost the stage', new.job_id, new.lease_token
      using errcode = 'TV005';
  end if;
  return new;
end $$;

CREATE FUNCTION public.tg_cost_ledger__clear_pending() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
  if new.reservation_id is not null then
    update budget_reservations set pending_call_micro_usd = 0, pending_call_at = null
    where id = new.reservation_id and pending_call_micro_usd > 0;
  end if;
  return new;
end $$;

CREATE FUNCTION public.tg_cost_ledger__replace_estimate() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
declare
  e cost_ledger;
begin
  if new.external_id is null or new.operation in ('unrecorded_call', 'estimate_replaced') then
    return null;
  end if;
  for e in
    select l.* from cost_ledger l
    where l.service = new.service and l.operation = 'unrecorded_call'
      and (l.external_id = new.external_id
           or (l.external_id is null and l.reservation_id in (
                 select r.id from budget_reservations r where r.pending_call_ref = new.external_id)))
      and not exists (select 1 from cost_ledger r where r.reverses_ledger_id = l.id)
    order by l.id for update
  loop
    insert into cost_ledger (service, operation, units, unit, cost_micro_usd, estimated, job_id, correlation_id,
                             external_id, reservation_id, reverses_ledger_id)
    values (e.service, 'estimate_replaced', -e.units, e.unit, -e.cost_micro_usd, true, e.job_id, new.correlation_id,
            e.external_id, null, e.id);
    if e.job_id is not null then
      perform add_job_note(e.job_id, jsonb_build_object('event', 'estimate_replaced', 'service', e.service,
        'external_id', e.external_id, 'estimate_micro_usd', e.cost_micro_usd, 'billed_micro_usd', new.cost_micro_usd));
    end if;
  end loop;
  return null;
end $$;

CREATE FUNCTION public.tg_jobs__check_transition() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
  if tg_op = 'INSERT' then
    if new.state <> 'uploaded' then
      raise exception 'illegal job transition: job % must start in uploaded, not %', new.id, new.state
        using errcode = 'TV001', detail = format('job %s', new.id);
    end if;
    return new;
  end if;
  if new.state is distinct from old.state then
    if not exists (
      select 1 from job_state_transitions where from_state = old.state and to_state = new.state
    ) then
      raise exception 'illegal job transition % -> % for job %', old.state, new.state, old.id
        using errcode = 'TV001', detail = format('job %s', old.id),
              hint = 'legal moves are listed in job_state_transitions';
    end if;
    new.state_changed_at := clock_timestamp();
  end if;
  new.updated_at := clock_timestamp();
  return new;
end $$;

CREATE FUNCTION public.tg_jobs__publish_webhook_events() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
declare
  v_detail jsonb;
  v_data jsonb;
  v_stage text;
begin
  if new.state is not distinct from old.state then
    return null;
  end if;
  -- The common case costs one index probe: nobody listens.
  if not exists (select 1 from webhook_subscriptions where enabled and not callback)
     and not exists (select 1 from webhook_subscription_jobs where job_id = new.id) then
    return null;
  end if;
  v_detail := coalesce(nullif(current_setting('tvdb.event_detail', true), '')::jsonb, '{}');
  v_data := jsonb_build_object('job_id', new.id, 'file_name', new.file_name, 'correlation_id', new.correlation_id,
                               'state', new.state, 'previous_state', old.state, 'at', new.state_changed_at);
  perform publish_webhook_event('job.state_changed', new.id, v_data);
  select stage into v_stage from pipeline_stages where failed = new.state;
  if v_stage is not null then
    perform publish_webhook_event('job.failed', new.id, v_data || jsonb_build_object(
      'stage', v_stage,
      'error', left(coalesce(v_detail ->> 'error', new.last_error, 'no reason recorded'), 2000),
      'error_class', coalesce(v_detail ->> 'error_class', 'permanent')));
  elsif new.state = (select handoff_to from pipeline_stages order by position desc limit 1) then
    perform publish_webhook_event('job.complete', new.id, v_data);
  end if;
  return null;
end $$;

CREATE FUNCTION public.tg_jobs__record_event() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
declare
  v_detail jsonb := '{}';
  v_seconds double precision;
begin
  if tg_op = 'UPDATE' then
    v_detail := coalesce(nullif(current_setting('tvdb.event_detail', true), '')::jsonb, '{}');
  end if;
  if not v_detail ? 'who' then
    v_detail := v_detail || jsonb_build_object('who', session_user::text);
  end if;
  v_detail := v_detail || jsonb_build_object('role', session_user::text);
  if tg_op = 'INSERT' then
    insert into job_events (job_id, kind, from_state, to_state, correlation_id, detail)
    values (new.id, 'created', null, new.state, new.correlation_id, v_detail);
  elsif new.state is distinct from old.state then
    v_seconds := greatest(0, extract(epoch from new.state_changed_at - old.state_changed_at));
    insert into job_events (job_id, kind, from_state, to_state, correlation_id, detail, seconds_in_from_state)
    values (new.id, 'transition', old.state, new.state, new.correlation_id, v_detail, v_seconds);
    perform observe_metric('tvdb_stage_duration_seconds', jsonb_build_object('state', old.state), v_seconds,
                           stage_duration_bounds());
    if new.state::text like 'failed_%' then
      perform raise_alert('job_failed',
        format('job_failed:%s:%s', new.state, date_bin('15 minutes', now(), timestamptz '2000-01-01')),
        'warning',
        format('job %s (%s) entered %s: %s', new.id, new.file_name, new.state,
               coalesce(v_detail ->> 'error', new.last_error, 'no reason recorded')),
        jsonb_build_object('state', new.state, 'first_job_id', new.id, 'correlation_id', new.correlation_id,
                           'error', coalesce(v_detail ->> 'error', new.last_error)));
    end if;
  end if;
  return null;
end $$;

CREATE FUNCTION public.tg_webhook_subscriptions__check_events() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
declare
  v_unknown text[];
begin
  select array_agg(e) into v_unknown from unnest(new.events) e
  where e not in (select type from webhook_event_types
                  where scope <> 'test' and (not new.callback or scope = 'job'));
  if v_unknown is not null then
    raise exception 'unknown or unsubscribable webhook event(s): %', array_to_string(v_unknown, ', ')
      using errcode = 'TV010',
            hint = case when new.callback then 'callbacks take job.state_changed, job.complete, job.failed'
                        else 'see webhook_event_types' end;
  end if;
  new.events := array(select distinct e from unnest(new.events) e order by e);
  return new;
end $$;

CREATE FUNCTION public.webhook_latency_bounds() RETURNS double precision[]
    LANGUAGE sql IMMUTABLE
    AS $$
  select array[0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]::double precision[]
$$;

CREATE FUNCTION public.webhook_refusal_source(p_address inet) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$
  select case when p_address is null then 'unknown'
              when family(p_address) = 6 then network(set_masklen(p_address, 64))::text
              else host(p_address) end
$$;

CREATE TABLE public.alerts (
    id bigint NOT NULL,
    kind text NOT NULL,
    dedupe_key text NOT NULL,
    severity text NOT NULL,
    message text NOT NULL,
    detail jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    delivered_at timestamp with time zone,
    delivery_error text,
    occurrences integer DEFAULT 1 NOT NULL,
    last_seen_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT alerts_severity_check CHECK ((severity = ANY (ARRAY['info'::text, 'warning'::text, 'critical'::text])))
);

ALTER TABLE public.alerts ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.alerts_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.applied_definitions (
    id integer NOT NULL,
    digest text NOT NULL,
    applied_at timestamp with time zone NOT NULL,
    CONSTRAINT applied_definitions_id_check CHECK ((id = 1))
);

CREATE TABLE public.budget_alert_thresholds (
    share numeric NOT NULL,
    CONSTRAINT budget_alert_thresholds_share_check CHECK ((share > (0)::numeric))
);

CREATE TABLE public.budget_reservations (
    id bigint NOT NULL,
    job_id uuid,
    stage text NOT NULL,
    service text NOT NULL,
    amount_micro_usd bigint NOT NULL,
    status text DEFAULT 'held'::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    settled_at timestamp with time zone,
    request_id uuid,
    pending_call_micro_usd bigint DEFAULT 0 NOT NULL,
    pending_call_at timestamp with time zone,
    pending_call_token bigint,
    pending_call_ref text,
    CONSTRAINT budget_reservations_amount_micro_usd_check CHECK ((amount_micro_usd >= 0)),
    CONSTRAINT budget_reservations_one_owner CHECK (((job_id IS NULL) <> (request_id IS NULL))),
    CONSTRAINT budget_reservations_pending_call_micro_usd_check CHECK ((pending_call_micro_usd >= 0)),
    CONSTRAINT budget_reservations_service_check CHECK ((service = ANY (ARRAY['llamaparse'::text, 'embeddings'::text]))),
    CONSTRAINT budget_reservations_status_check CHECK ((status = ANY (ARRAY['held'::text, 'settled'::text, 'expired'::text, 'released'::text])))
);

ALTER TABLE public.budget_reservations ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.budget_reservations_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.budget_stages (
    stage text NOT NULL,
    description text NOT NULL
);

CREATE TABLE public.budgets (
    id bigint NOT NULL,
    scope text NOT NULL,
    period text NOT NULL,
    limit_micro_usd bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT budgets_limit_micro_usd_check CHECK ((limit_micro_usd >= 0)),
    CONSTRAINT budgets_period_check CHECK ((period = ANY (ARRAY['day'::text, 'month'::text, 'total'::text]))),
    CONSTRAINT budgets_scope_check CHECK ((scope = ANY (ARRAY['llamaparse'::text, 'embeddings'::text, 'all'::text])))
);

CREATE TABLE public.cost_ledger (
    id bigint NOT NULL,
    at timestamp with time zone DEFAULT now() NOT NULL,
    service text NOT NULL,
    operation text NOT NULL,
    units bigint NOT NULL,
    unit text NOT NULL,
    cost_micro_usd bigint NOT NULL,
    estimated boolean DEFAULT false NOT NULL,
    job_id uuid,
    correlation_id text,
    external_id text,
    reservation_id bigint,
    lease_token bigint,
    reverses_ledger_id bigint,
    CONSTRAINT cost_ledger_cost_micro_usd_check CHECK (((cost_micro_usd >= 0) OR (reverses_ledger_id IS NOT NULL))),
    CONSTRAINT cost_ledger_reversal_shape CHECK (((reverses_ledger_id IS NULL) OR (operation = 'estimate_replaced'::text))),
    CONSTRAINT cost_ledger_service_check CHECK ((service = ANY (ARRAY['llamaparse'::text, 'embeddings'::text]))),
    CONSTRAINT cost_ledger_units_check CHECK (((units >= 0) OR (reverses_ledger_id IS NOT NULL)))
);

CREATE VIEW public.budget_status AS
 WITH b AS (
         SELECT b_1.id,
            b_1.scope,
            b_1.period,
            b_1.limit_micro_usd,
            b_1.created_at,
            b_1.updated_at,
            public.budget_period_start(b_1.period, b_1.created_at) AS period_start
           FROM public.budgets b_1
        ), spent AS (
         SELECT b_1.id,
            (COALESCE(sum(l.cost_micro_usd), (0)::numeric))::bigint AS spent
           FROM (b b_1
             LEFT JOIN public.cost_ledger l ON (((l.at >= b_1.period_start) AND ((b_1.scope = 'all'::text) OR (l.service = b_1.scope)))))
          GROUP BY b_1.id
        ), reserved AS (
         SELECT b_1.id,
            (COALESCE(sum(
                CASE
                    WHEN (r_1.expires_at > now()) THEN GREATEST((0)::numeric, ((r_1.amount_micro_usd)::numeric - COALESCE(c.charged, (0)::numeric)))
                    ELSE (r_1.pending_call_micro_usd)::numeric
                END), (0)::numeric))::bigint AS reserved
           FROM ((b b_1
             LEFT JOIN public.budget_reservations r_1 ON (((r_1.status = 'held'::text) AND ((r_1.expires_at > now()) OR (r_1.pending_call_micro_usd > 0)) AND ((b_1.scope = 'all'::text) OR (r_1.service = b_1.scope)))))
             LEFT JOIN LATERAL ( SELECT sum(cost_ledger.cost_micro_usd) AS charged
                   FROM public.cost_ledger
                  WHERE (cost_ledger.reservation_id = r_1.id)) c ON (true))
          GROUP BY b_1.id
        )
 SELECT b.id AS budget_id,
    b.scope,
    b.period,
    b.period_start,
    b.limit_micro_usd,
    s.spent AS spent_micro_usd,
    r.reserved AS reserved_micro_usd,
    ((b.limit_micro_usd - s.spent) - r.reserved) AS remaining_micro_usd,
        CASE
            WHEN (b.limit_micro_usd = 0) THEN 1.0
            ELSE round((((s.spent + r.reserved))::numeric / (b.limit_micro_usd)::numeric), 4)
        END AS share_used
   FROM ((b
     JOIN spent s ON ((s.id = b.id)))
     JOIN reserved r ON ((r.id = b.id)));

ALTER TABLE public.budgets ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.budgets_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.chunks (
    job_id uuid NOT NULL,
    ordinal integer NOT NULL,
    content text NOT NULL,
    content_sha256 bytea NOT NULL,
    token_count integer NOT NULL,
    overlap_chars integer DEFAULT 0 NOT NULL,
    page_start integer NOT NULL,
    page_end integer NOT NULL,
    heading_path text[] DEFAULT '{}'::text[] NOT NULL,
    oversized boolean DEFAULT false NOT NULL,
    text_search_language text DEFAULT 'english'::text NOT NULL,
    text_search tsvector NOT NULL,
    CONSTRAINT chunks_check CHECK ((page_end >= page_start)),
    CONSTRAINT chunks_content_sha256_check CHECK ((octet_length(content_sha256) = 32)),
    CONSTRAINT chunks_ordinal_check CHECK ((ordinal >= 0)),
    CONSTRAINT chunks_overlap_chars_check CHECK ((overlap_chars >= 0)),
    CONSTRAINT chunks_token_count_check CHECK ((token_count > 0))
);

CREATE TABLE public.circuit_breaker_events (
    id bigint NOT NULL,
    service text NOT NULL,
    from_state text NOT NULL,
    to_state text NOT NULL,
    reason text NOT NULL,
    at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE public.circuit_breaker_events ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.circuit_breaker_events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.circuit_breaker_probes (
    id bigint NOT NULL,
    service text NOT NULL,
    expires_at timestamp with time zone NOT NULL
);

ALTER TABLE public.circuit_breaker_probes ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.circuit_breaker_probes_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.circuit_breakers (
    service text NOT NULL,
    state text DEFAULT 'closed'::text NOT NULL,
    consecutive_failures integer DEFAULT 0 NOT NULL,
    opened_at timestamp with time zone,
    probe_successes integer DEFAULT 0 NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT circuit_breakers_service_check CHECK ((service = ANY (ARRAY['llamaparse'::text, 'embeddings'::text]))),
    CONSTRAINT circuit_breakers_state_check CHECK ((state = ANY (ARRAY['closed'::text, 'open'::text, 'half_open'::text])))
);

CREATE VIEW public.cost_by_job AS
SELECT
    NULL::uuid AS job_id,
    NULL::text AS file_name,
    NULL::text AS correlation_id,
    NULL::public.job_state AS state,
    NULL::bigint AS cost_micro_usd,
    NULL::integer AS paid_calls;

CREATE VIEW public.cost_daily AS
 SELECT (date_trunc('day'::text, cost_ledger.at))::date AS day,
    cost_ledger.service,
    (sum(cost_ledger.cost_micro_usd))::bigint AS cost_micro_usd,
    (count(*))::integer AS calls
   FROM public.cost_ledger
  GROUP BY ((date_trunc('day'::text, cost_ledger.at))::date), cost_ledger.service
  ORDER BY ((date_trunc('day'::text, cost_ledger.at))::date), cost_ledger.service;

ALTER TABLE public.cost_ledger ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.cost_ledger_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE VIEW public.cost_summary AS
 SELECT cost_ledger.service,
    cost_ledger.operation,
    (date_trunc('day'::text, cost_ledger.at))::date AS day,
    (count(*))::integer AS calls,
    (sum(cost_ledger.units))::bigint AS units,
    (sum(cost_ledger.cost_micro_usd))::bigint AS cost_micro_usd,
    bool_or(cost_ledger.estimated) AS includes_estimates
   FROM public.cost_ledger
  GROUP BY cost_ledger.service, cost_ledger.operation, ((date_trunc('day'::text, cost_ledger.at))::date);

CREATE UNLOGGED TABLE public.document_upload_parts (
    upload_id uuid NOT NULL,
    ordinal integer NOT NULL,
    bytes bytea NOT NULL,
    CONSTRAINT document_upload_parts_ordinal_check CHECK ((ordinal >= 0))
);

CREATE TABLE public.documents (
    id bigint NOT NULL,
    sha256 bytea NOT NULL,
    byte_size bigint NOT NULL,
    media_type text NOT NULL,
    content bytea NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT documents_byte_size_check CHECK ((byte_size > 0)),
    CONSTRAINT documents_sha256_check CHECK ((octet_length(sha256) = 32))
);

ALTER TABLE public.documents ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.documents_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.embeddings (
    content_sha256 bytea NOT NULL,
    model text NOT NULL,
    dimensions integer NOT NULL,
    vector real[] NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT embeddings_check CHECK ((cardinality(vector) = dimensions)),
    CONSTRAINT embeddings_content_sha256_check CHECK ((octet_length(content_sha256) = 32)),
    CONSTRAINT embeddings_dimensions_check CHECK ((dimensions > 0))
);

CREATE TABLE public.job_events (
    id bigint NOT NULL,
    job_id uuid NOT NULL,
    kind text NOT NULL,
    from_state public.job_state,
    to_state public.job_state NOT NULL,
    correlation_id text NOT NULL,
    detail jsonb DEFAULT '{}'::jsonb NOT NULL,
    at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    seconds_in_from_state double precision,
    CONSTRAINT job_events_check CHECK (((kind = 'transition'::text) = (from_state IS NOT NULL))),
    CONSTRAINT job_events_kind_check CHECK ((kind = ANY (ARRAY['created'::text, 'transition'::text, 'note'::text])))
);

CREATE TABLE public.pipeline_stages (
    stage text NOT NULL,
    "position" integer NOT NULL,
    task text NOT NULL,
    job_key_prefix text NOT NULL,
    queued_from public.job_state,
    starts_from public.job_state NOT NULL,
    in_progress public.job_state,
    done public.job_state NOT NULL,
    handoff_to public.job_state,
    failed public.job_state NOT NULL,
    retry_to public.job_state NOT NULL,
    attempts_setting text NOT NULL,
    paid_service text,
    budget_stage text,
    CONSTRAINT pipeline_stages_paid_check CHECK (((paid_service IS NULL) = (budget_stage IS NULL)))
);

CREATE VIEW public.failure_summary AS
 SELECT 'job_failed'::text AS kind,
    (job_events.to_state)::text AS stage,
    COALESCE((job_events.detail ->> 'error_class'::text), 'permanent'::text) AS error_class,
    "left"((job_events.detail ->> 'error'::text), 200) AS message,
    (count(*))::integer AS occurrences,
    max(job_events.at) AS last_at
   FROM public.job_events
  WHERE ((job_events.kind = 'transition'::text) AND (job_events.to_state IN ( SELECT pipeline_stages.failed
           FROM public.pipeline_stages)) AND (job_events.at > (now() - '24:00:00'::interval)))
  GROUP BY (job_events.to_state)::text, COALESCE((job_events.detail ->> 'error_class'::text), 'permanent'::text), ("left"((job_events.detail ->> 'error'::text), 200))
UNION ALL
 SELECT 'attempt_failed'::text AS kind,
    (job_events.detail ->> 'stage'::text) AS stage,
    (job_events.detail ->> 'error_class'::text) AS error_class,
    "left"((job_events.detail ->> 'error'::text), 200) AS message,
    (count(*))::integer AS occurrences,
    max(job_events.at) AS last_at
   FROM public.job_events
  WHERE ((job_events.kind = 'note'::text) AND ((job_events.detail ->> 'event'::text) = 'attempt_failed'::text) AND (job_events.at > (now() - '24:00:00'::interval)))
  GROUP BY (job_events.detail ->> 'stage'::text), (job_events.detail ->> 'error_class'::text), ("left"((job_events.detail ->> 'error'::text), 200))
  ORDER BY 5 DESC;

ALTER TABLE public.job_events ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.job_events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.job_state_transitions (
    from_state public.job_state NOT NULL,
    to_state public.job_state NOT NULL,
    CONSTRAINT job_state_transitions_check CHECK ((from_state <> to_state))
);

CREATE VIEW public.job_timeline AS
 SELECT e.job_id,
    e.id AS event_id,
    e.kind,
    e.from_state,
    e.to_state AS state,
    e.at AS entered_at,
        CASE
            WHEN (e.kind = 'note'::text) THEN NULL::interval
            ELSE (COALESCE(( SELECT min(n.at) AS min
               FROM public.job_events n
              WHERE ((n.job_id = e.job_id) AND (n.id > e.id) AND (n.kind <> 'note'::text))), now()) - e.at)
        END AS time_in_state,
    e.correlation_id,
    e.detail
   FROM public.job_events e;

CREATE TABLE public.jobs (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    document_id bigint NOT NULL,
    file_name text NOT NULL,
    state public.job_state DEFAULT 'uploaded'::public.job_state NOT NULL,
    correlation_id text NOT NULL,
    last_error text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    state_changed_at timestamp with time zone DEFAULT now() NOT NULL,
    webhook_token text,
    llamaparse_job_id text,
    parse_submitted_at timestamp with time zone,
    parse_resubmissions integer DEFAULT 0 NOT NULL,
    parse_result_id bigint,
    chunking_settings jsonb,
    embedding_model text,
    embedding_dimensions integer,
    parse_max_pages integer,
    parse_pages_exact boolean,
    CONSTRAINT jobs_correlation_id_check CHECK ((correlation_id <> ''::text)),
    CONSTRAINT jobs_parse_max_pages_check CHECK ((parse_max_pages > 0)),
    CONSTRAINT jobs_webhook_token_check CHECK ((length(webhook_token) >= 32))
);

CREATE TABLE public.metric_series (
    name text NOT NULL,
    labels jsonb DEFAULT '{}'::jsonb NOT NULL,
    shard smallint NOT NULL,
    count bigint DEFAULT 0 NOT NULL,
    sum double precision DEFAULT 0 NOT NULL,
    bounds double precision[],
    buckets bigint[],
    CONSTRAINT metric_series_check CHECK (((bounds IS NULL) = (buckets IS NULL))),
    CONSTRAINT metric_series_check1 CHECK (((bounds IS NULL) OR (cardinality(buckets) = (cardinality(bounds) + 1))))
);

CREATE VIEW public.metric_totals AS
 SELECT m.name,
    m.labels,
    (sum(m.count))::bigint AS count,
    sum(m.sum) AS sum,
    min(m.bounds) AS bounds,
    ( SELECT array_agg(t.total ORDER BY t.i) AS array_agg
           FROM ( SELECT i.i,
                    (sum(s.buckets[i.i]))::bigint AS total
                   FROM public.metric_series s,
                    LATERAL generate_subscripts(s.buckets, 1) i(i)
                  WHERE ((s.name = m.name) AND (s.labels = m.labels))
                  GROUP BY i.i) t) AS buckets
   FROM public.metric_series m
  GROUP BY m.name, m.labels;

CREATE TABLE public.parse_results (
    id bigint NOT NULL,
    document_id bigint NOT NULL,
    parser text NOT NULL,
    settings_key text NOT NULL,
    page_count integer NOT NULL,
    pages_parsed integer NOT NULL,
    failed_pages jsonb DEFAULT '[]'::jsonb NOT NULL,
    credits bigint,
    llamaparse_job_id text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT parse_results_credits_check CHECK ((credits >= 0)),
    CONSTRAINT parse_results_page_count_check CHECK ((page_count >= 0)),
    CONSTRAINT parse_results_pages_parsed_check CHECK ((pages_parsed >= 0)),
    CONSTRAINT parse_results_parser_check CHECK ((parser = ANY (ARRAY['local'::text, 'llamaparse'::text])))
);

ALTER TABLE public.parse_results ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.parse_results_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.parsed_pages (
    parse_result_id bigint NOT NULL,
    page_number integer NOT NULL,
    markdown text NOT NULL,
    CONSTRAINT parsed_pages_page_number_check CHECK ((page_number > 0))
);

CREATE TABLE public.pgmigrations (
    id integer NOT NULL,
    name character varying(255) NOT NULL,
    run_on timestamp without time zone NOT NULL
);

CREATE SEQUENCE public.pgmigrations_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.pgmigrations_id_seq OWNED BY public.pgmigrations.id;

CREATE VIEW public.pipeline_health AS
 SELECT s.state,
    COALESCE(j.jobs, (0)::bigint) AS jobs,
    j.oldest_age,
    COALESCE(t.entered_5m, (0)::bigint) AS entered_last_5m,
    COALESCE(t.entered_60m, (0)::bigint) AS entered_last_60m
   FROM ((unnest(enum_range(NULL::public.job_state)) WITH ORDINALITY s(state, ord)
     LEFT JOIN ( SELECT jobs.state,
            count(*) AS jobs,
            (now() - min(jobs.state_changed_at)) AS oldest_age
           FROM public.jobs
          GROUP BY jobs.state) j ON ((j.state = s.state)))
     LEFT JOIN ( SELECT job_events.to_state,
            count(*) FILTER (WHERE (job_events.at > (now() - '00:05:00'::interval))) AS entered_5m,
            count(*) AS entered_60m
           FROM public.job_events
          WHERE ((job_events.kind = 'transition'::text) AND (job_events.at > (now() - '01:00:00'::interval)))
          GROUP BY job_events.to_state) t ON ((t.to_state = s.state)))
  ORDER BY s.ord;

CREATE VIEW public.pipeline_stage_moves AS
 WITH paths AS (
         SELECT s.stage,
            p.state,
            p.ord
           FROM public.pipeline_stages s,
            LATERAL unnest(ARRAY[s.queued_from, s.starts_from, s.in_progress, s.done, s.handoff_to]) WITH ORDINALITY p(state, ord)
          WHERE (p.state IS NOT NULL)
        )
 SELECT a.stage,
    a.state AS from_state,
    b.state AS to_state,
    'forward'::text AS kind
   FROM (paths a
     JOIN LATERAL ( SELECT b_1.state
           FROM paths b_1
          WHERE ((b_1.stage = a.stage) AND (b_1.ord > a.ord))
          ORDER BY b_1.ord
         LIMIT 1) b ON (true))
UNION ALL
 SELECT pipeline_stages.stage,
    f.state AS from_state,
    pipeline_stages.failed AS to_state,
    'fail'::text AS kind
   FROM public.pipeline_stages,
    LATERAL unnest(ARRAY[pipeline_stages.starts_from, pipeline_stages.in_progress]) f(state)
  WHERE (f.state IS NOT NULL)
UNION ALL
 SELECT pipeline_stages.stage,
    pipeline_stages.failed AS from_state,
    pipeline_stages.retry_to AS to_state,
    'retry'::text AS kind
   FROM public.pipeline_stages;

CREATE TABLE public.pipeline_stage_tasks (
    task text NOT NULL,
    stage text NOT NULL,
    job_key_prefix text NOT NULL
);

CREATE VIEW public.pipeline_state_owners AS
 SELECT DISTINCT ON (x.state) x.state,
    x.stage
   FROM ( SELECT pipeline_stages.stage,
            pipeline_stages."position",
            pipeline_stages.queued_from AS state,
            1 AS rank
           FROM public.pipeline_stages
        UNION ALL
         SELECT pipeline_stages.stage,
            pipeline_stages."position",
            pipeline_stages.starts_from,
            1
           FROM public.pipeline_stages
        UNION ALL
         SELECT pipeline_stages.stage,
            pipeline_stages."position",
            pipeline_stages.in_progress,
            1
           FROM public.pipeline_stages
        UNION ALL
         SELECT pipeline_stages.stage,
            pipeline_stages."position",
            pipeline_stages.done,
            2
           FROM public.pipeline_stages) x
  WHERE (x.state IS NOT NULL)
  ORDER BY x.state, x.rank, x."position";

CREATE VIEW public.pipeline_tasks AS
 SELECT pipeline_stages.stage,
    pipeline_stages.task,
    pipeline_stages.job_key_prefix,
    true AS starts_stage
   FROM public.pipeline_stages
UNION ALL
 SELECT pipeline_stage_tasks.stage,
    pipeline_stage_tasks.task,
    pipeline_stage_tasks.job_key_prefix,
    false AS starts_stage
   FROM public.pipeline_stage_tasks;

CREATE TABLE public.price_catalog (
    id bigint NOT NULL,
    service text NOT NULL,
    sku text NOT NULL,
    unit text NOT NULL,
    amount bigint NOT NULL,
    effective_from timestamp with time zone NOT NULL,
    source text NOT NULL,
    CONSTRAINT price_catalog_amount_check CHECK ((amount >= 0)),
    CONSTRAINT price_catalog_service_check CHECK ((service = ANY (ARRAY['llamaparse'::text, 'embeddings'::text, 'local'::text]))),
    CONSTRAINT price_catalog_unit_check CHECK ((unit = ANY (ARRAY['micro_usd_per_credit'::text, 'credits_per_page'::text, 'micro_usd_per_1m_tokens'::text, 'micro_usd_per_page'::text, 'max_input_tokens'::text, 'max_inputs_per_request'::text, 'max_tokens_per_request'::text])))
);

ALTER TABLE public.price_catalog ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.price_catalog_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE VIEW public.queue_depth AS
 SELECT jobs.task_identifier AS task,
    (count(*) FILTER (WHERE ((jobs.locked_at IS NULL) AND (jobs.run_at <= now()) AND (jobs.attempts < jobs.max_attempts))))::integer AS waiting,
    (count(*) FILTER (WHERE ((jobs.locked_at IS NULL) AND (jobs.run_at > now()) AND (jobs.attempts = 0))))::integer AS scheduled,
    (count(*) FILTER (WHERE (jobs.locked_at IS NOT NULL)))::integer AS running,
    (count(*) FILTER (WHERE ((jobs.locked_at IS NULL) AND (jobs.attempts > 0) AND (jobs.attempts < jobs.max_attempts))))::integer AS retrying,
    (count(*) FILTER (WHERE (jobs.attempts >= jobs.max_attempts)))::integer AS failed
   FROM graphile_worker.jobs
  GROUP BY jobs.task_identifier
  ORDER BY jobs.task_identifier;

CREATE TABLE public.rate_limits (
    bucket text NOT NULL,
    capacity numeric NOT NULL,
    refill_per_s numeric NOT NULL,
    tokens numeric NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT rate_limits_capacity_check CHECK ((capacity > (0)::numeric)),
    CONSTRAINT rate_limits_refill_per_s_check CHECK ((refill_per_s > (0)::numeric))
);

CREATE TABLE public.retention_watermarks (
    name text NOT NULL,
    last_id bigint NOT NULL
);

CREATE VIEW public.stage_latency AS
 SELECT s.state,
    s.moves,
    round((s.p[1])::numeric, 3) AS p50_s,
    round((s.p[2])::numeric, 3) AS p95_s,
    round((s.p[3])::numeric, 3) AS p99_s,
    round((s.max_s)::numeric, 3) AS max_s
   FROM ( SELECT job_events.from_state AS state,
            (count(*))::integer AS moves,
            percentile_cont(ARRAY[(0.5)::double precision, (0.95)::double precision, (0.99)::double precision]) WITHIN GROUP (ORDER BY job_events.seconds_in_from_state) AS p,
            max(job_events.seconds_in_from_state) AS max_s
           FROM public.job_events
          WHERE ((job_events.kind = 'transition'::text) AND (job_events.at > (now() - '24:00:00'::interval)))
          GROUP BY job_events.from_state) s
  ORDER BY (array_position(enum_range(NULL::public.job_state), s.state));

CREATE SEQUENCE public.stage_lease_tokens
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

CREATE TABLE public.stage_leases (
    job_id uuid NOT NULL,
    stage text NOT NULL,
    token bigint NOT NULL,
    owner text NOT NULL,
    acquired_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    holder_domain text,
    holder_pid integer,
    holder_pid_start text
);

CREATE VIEW public.stage_outcome_states AS
 SELECT pipeline_stages.stage,
    pipeline_stages.done AS done_state,
    pipeline_stages.failed AS failed_state
   FROM public.pipeline_stages;

CREATE VIEW public.stuck_jobs AS
 SELECT j.id AS job_id,
    j.state,
    j.file_name,
    j.correlation_id,
    (now() - j.state_changed_at) AS in_state_for
   FROM public.jobs j
  WHERE ((j.state IN ( SELECT pipeline_state_owners.state
           FROM public.pipeline_state_owners)) AND (j.state_changed_at < (now() - '00:02:00'::interval)) AND (NOT (EXISTS ( SELECT 1
           FROM graphile_worker.jobs g
          WHERE ((g.key IN ( SELECT public.stage_task_job_key(t.task, j.id) AS stage_task_job_key
                   FROM public.pipeline_tasks t)) AND (g.attempts < g.max_attempts))))));

CREATE TABLE public.webhook_attempts (
    id bigint NOT NULL,
    message_id bigint NOT NULL,
    attempt integer NOT NULL,
    at timestamp with time zone DEFAULT now() NOT NULL,
    outcome text NOT NULL,
    http_status integer,
    latency_ms integer NOT NULL,
    response_excerpt text,
    error text,
    next_attempt_at timestamp with time zone,
    CONSTRAINT webhook_attempts_attempt_check CHECK ((attempt > 0)),
    CONSTRAINT webhook_attempts_latency_ms_check CHECK ((latency_ms >= 0)),
    CONSTRAINT webhook_attempts_outcome_check CHECK ((outcome = ANY (ARRAY['delivered'::text, 'rejected'::text, 'gone'::text, 'timeout'::text, 'unreachable'::text, 'blocked'::text]))),
    CONSTRAINT webhook_attempts_response_excerpt_check CHECK ((length(response_excerpt) <= 500))
);

ALTER TABLE public.webhook_attempts ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.webhook_attempts_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.webhook_deliveries (
    event_id text NOT NULL,
    event_type text NOT NULL,
    llamaparse_job_id text NOT NULL,
    job_id uuid NOT NULL,
    correlation_id text NOT NULL,
    known_event boolean NOT NULL,
    received_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE public.webhook_events (
    id bigint NOT NULL,
    webhook_id text DEFAULT ('msg_'::text || replace((gen_random_uuid())::text, '-'::text, ''::text)) NOT NULL,
    type text NOT NULL,
    job_id uuid,
    sequence integer,
    payload jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT webhook_events_check CHECK (((job_id IS NULL) = (sequence IS NULL)))
);

CREATE TABLE public.webhook_messages (
    id bigint NOT NULL,
    subscription_id bigint NOT NULL,
    event_id bigint NOT NULL,
    line text NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    next_attempt_at timestamp with time zone DEFAULT now() NOT NULL,
    window_started_at timestamp with time zone DEFAULT now() NOT NULL,
    delivered_at timestamp with time zone,
    last_error text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT webhook_messages_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'delivered'::text, 'failed'::text, 'cancelled'::text])))
);

CREATE TABLE public.webhook_subscriptions (
    id bigint NOT NULL,
    url text NOT NULL,
    events text[] NOT NULL,
    secret text NOT NULL,
    enabled boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    description text DEFAULT ''::text NOT NULL,
    callback boolean DEFAULT false NOT NULL,
    failing_since timestamp with time zone,
    last_success_at timestamp with time zone,
    disabled_at timestamp with time zone,
    disabled_reason text,
    CONSTRAINT webhook_subscriptions_description_check CHECK ((length(description) <= 200)),
    CONSTRAINT webhook_subscriptions_events_check CHECK ((cardinality(events) > 0)),
    CONSTRAINT webhook_subscriptions_secret_check CHECK ((secret ~ '^whsec_[A-Za-z0-9+/]+=*$'::text)),
    CONSTRAINT webhook_subscriptions_url_check CHECK (((url ~ '^https?://'::text) AND (length(url) <= 2048)))
);

CREATE VIEW public.webhook_delivery_log AS
 SELECT a.id AS attempt_id,
    a.at,
    m.subscription_id,
    s.url,
    e.webhook_id,
    e.type,
    e.job_id,
    e.sequence,
    a.attempt,
    a.outcome,
    a.http_status,
    a.latency_ms,
    a.response_excerpt,
    a.error,
    a.next_attempt_at,
    m.status AS message_status
   FROM (((public.webhook_attempts a
     JOIN public.webhook_messages m ON ((m.id = a.message_id)))
     JOIN public.webhook_events e ON ((e.id = m.event_id)))
     JOIN public.webhook_subscriptions s ON ((s.id = m.subscription_id)));

CREATE TABLE public.webhook_event_types (
    type text NOT NULL,
    scope text NOT NULL,
    alert_kind text,
    description text NOT NULL,
    CONSTRAINT webhook_event_types_check CHECK (((scope = 'alert'::text) = (alert_kind IS NOT NULL))),
    CONSTRAINT webhook_event_types_scope_check CHECK ((scope = ANY (ARRAY['job'::text, 'alert'::text, 'test'::text])))
);

ALTER TABLE public.webhook_events ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.webhook_events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE public.webhook_messages ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.webhook_messages_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.webhook_refusal_counts (
    minute timestamp with time zone NOT NULL,
    source text NOT NULL,
    reason text NOT NULL,
    http_status integer NOT NULL,
    refusals bigint DEFAULT 0 NOT NULL,
    stored integer DEFAULT 0 NOT NULL,
    last_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE public.webhook_refusal_log (
    id bigint NOT NULL,
    at timestamp with time zone DEFAULT now() NOT NULL,
    reason text NOT NULL,
    http_status integer NOT NULL,
    source_address inet,
    detail text,
    CONSTRAINT webhook_refusal_log_reason_check CHECK ((reason = ANY (ARRAY['forbidden_source'::text, 'too_large'::text, 'missing_signature'::text, 'bad_signature'::text, 'malformed'::text, 'unknown_token'::text, 'job_mismatch'::text, 'stale_timestamp'::text])))
);

ALTER TABLE public.webhook_refusal_log ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.webhook_refusal_log_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE VIEW public.webhook_refusals AS
 SELECT webhook_refusal_counts.reason,
    webhook_refusal_counts.http_status,
    (sum(webhook_refusal_counts.refusals))::integer AS refusals,
    max(webhook_refusal_counts.last_at) AS last_at,
    (count(DISTINCT webhook_refusal_counts.source))::integer AS sources
   FROM public.webhook_refusal_counts
  WHERE (webhook_refusal_counts.minute > (now() - '24:00:00'::interval))
  GROUP BY webhook_refusal_counts.reason, webhook_refusal_counts.http_status
  ORDER BY ((sum(webhook_refusal_counts.refusals))::integer) DESC;

CREATE TABLE public.webhook_subscription_jobs (
    job_id uuid NOT NULL,
    subscription_id bigint NOT NULL
);

CREATE VIEW public.webhook_subscription_status AS
 SELECT s.id,
    s.url,
    s.events,
    s.enabled,
    s.callback,
    s.description,
    s.created_at,
    s.failing_since,
    s.last_success_at,
    s.disabled_at,
    s.disabled_reason,
    COALESCE(c.pending, 0) AS pending,
    COALESCE(c.delivered, 0) AS delivered,
    COALESCE(c.failed, 0) AS failed,
    COALESCE(c.cancelled, 0) AS cancelled,
    c.oldest_pending_at
   FROM (public.webhook_subscriptions s
     LEFT JOIN ( SELECT webhook_messages.subscription_id,
            (count(*) FILTER (WHERE (webhook_messages.status = 'pending'::text)))::integer AS pending,
            (count(*) FILTER (WHERE (webhook_messages.status = 'delivered'::text)))::integer AS delivered,
            (count(*) FILTER (WHERE (webhook_messages.status = 'failed'::text)))::integer AS failed,
            (count(*) FILTER (WHERE (webhook_messages.status = 'cancelled'::text)))::integer AS cancelled,
            min(webhook_messages.created_at) FILTER (WHERE (webhook_messages.status = 'pending'::text)) AS oldest_pending_at
           FROM public.webhook_messages
          GROUP BY webhook_messages.subscription_id) c ON ((c.subscription_id = s.id)));

ALTER TABLE public.webhook_subscriptions ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.webhook_subscriptions_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.worker_processes (
    pool_id text NOT NULL,
    host text NOT NULL,
    pid integer NOT NULL,
    started_at timestamp with time zone DEFAULT now() NOT NULL,
    heartbeat_at timestamp with time zone DEFAULT now() NOT NULL,
    domain text,
    pid_start text
);

ALTER TABLE ONLY public.pgmigrations ALTER COLUMN id SET DEFAULT nextval('public.pgmigrations_id_seq'::regclass);

ALTER TABLE ONLY public.alerts
    ADD CONSTRAINT alerts_dedupe_key_key UNIQUE (dedupe_key);

ALTER TABLE ONLY public.alerts
    ADD CONSTRAINT alerts_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.applied_definitions
    ADD CONSTRAINT applied_definitions_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.budget_alert_thresholds
    ADD CONSTRAINT budget_alert_thresholds_pkey PRIMARY KEY (share);

ALTER TABLE ONLY public.budget_reservations
    ADD CONSTRAINT budget_reservations_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.budget_stages
    ADD CONSTRAINT budget_stages_pkey PRIMARY KEY (stage);

ALTER TABLE ONLY public.budgets
    ADD CONSTRAINT budgets_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.budgets
    ADD CONSTRAINT budgets_scope_period_key UNIQUE (scope, period);

ALTER TABLE ONLY public.chunks
    ADD CONSTRAINT chunks_pkey PRIMARY KEY (job_id, ordinal);

ALTER TABLE ONLY public.circuit_breaker_events
    ADD CONSTRAINT circuit_breaker_events_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.circuit_breaker_probes
    ADD CONSTRAINT circuit_breaker_probes_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.circuit_breakers
    ADD CONSTRAINT circuit_breakers_pkey PRIMARY KEY (service);

ALTER TABLE ONLY public.cost_ledger
    ADD CONSTRAINT cost_ledger_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.document_upload_parts
    ADD CONSTRAINT document_upload_parts_pkey PRIMARY KEY (upload_id, ordinal);

ALTER TABLE ONLY public.documents
    ADD CONSTRAINT documents_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.documents
    ADD CONSTRAINT documents_sha256_key UNIQUE (sha256);

ALTER TABLE ONLY public.embeddings
    ADD CONSTRAINT embeddings_pkey PRIMARY KEY (content_sha256, model, dimensions);

ALTER TABLE ONLY public.job_events
    ADD CONSTRAINT job_events_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.job_state_transitions
    ADD CONSTRAINT job_state_transitions_pkey PRIMARY KEY (from_state, to_state);

ALTER TABLE ONLY public.jobs
    ADD CONSTRAINT jobs_llamaparse_job_id_key UNIQUE (llamaparse_job_id);

ALTER TABLE ONLY public.jobs
    ADD CONSTRAINT jobs_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.jobs
    ADD CONSTRAINT jobs_webhook_token_key UNIQUE (webhook_token);

ALTER TABLE ONLY public.metric_series
    ADD CONSTRAINT metric_series_pkey PRIMARY KEY (name, labels, shard);

ALTER TABLE ONLY public.parse_results
    ADD CONSTRAINT parse_results_document_id_parser_settings_key_key UNIQUE (document_id, parser, settings_key);

ALTER TABLE ONLY public.parse_results
    ADD CONSTRAINT parse_results_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.parsed_pages
    ADD CONSTRAINT parsed_pages_pkey PRIMARY KEY (parse_result_id, page_number);

ALTER TABLE ONLY public.pgmigrations
    ADD CONSTRAINT pgmigrations_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.pipeline_stage_tasks
    ADD CONSTRAINT pipeline_stage_tasks_job_key_prefix_key UNIQUE (job_key_prefix);

ALTER TABLE ONLY public.pipeline_stage_tasks
    ADD CONSTRAINT pipeline_stage_tasks_pkey PRIMARY KEY (task);

ALTER TABLE ONLY public.pipeline_stages
    ADD CONSTRAINT pipeline_stages_failed_key UNIQUE (failed);

ALTER TABLE ONLY public.pipeline_stages
    ADD CONSTRAINT pipeline_stages_job_key_prefix_key UNIQUE (job_key_prefix);

ALTER TABLE ONLY public.pipeline_stages
    ADD CONSTRAINT pipeline_stages_pkey PRIMARY KEY (stage);

ALTER TABLE ONLY public.pipeline_stages
    ADD CONSTRAINT pipeline_stages_position_key UNIQUE ("position");

ALTER TABLE ONLY public.pipeline_stages
    ADD CONSTRAINT pipeline_stages_task_key UNIQUE (task);

ALTER TABLE ONLY public.price_catalog
    ADD CONSTRAINT price_catalog_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.price_catalog
    ADD CONSTRAINT price_catalog_service_sku_unit_effective_from_key UNIQUE (service, sku, unit, effective_from);

ALTER TABLE ONLY public.rate_limits
    ADD CONSTRAINT rate_limits_pkey PRIMARY KEY (bucket);

ALTER TABLE ONLY public.retention_watermarks
    ADD CONSTRAINT retention_watermarks_pkey PRIMARY KEY (name);

ALTER TABLE ONLY public.stage_leases
    ADD CONSTRAINT stage_leases_pkey PRIMARY KEY (job_id, stage);

ALTER TABLE ONLY public.stage_leases
    ADD CONSTRAINT stage_leases_token_key UNIQUE (token);

ALTER TABLE ONLY public.webhook_attempts
    ADD CONSTRAINT webhook_attempts_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (event_id);

ALTER TABLE ONLY public.webhook_event_types
    ADD CONSTRAINT webhook_event_types_alert_kind_key UNIQUE (alert_kind);

ALTER TABLE ONLY public.webhook_event_types
    ADD CONSTRAINT webhook_event_types_pkey PRIMARY KEY (type);

ALTER TABLE ONLY public.webhook_events
    ADD CONSTRAINT webhook_events_job_id_sequence_key UNIQUE (job_id, sequence);

ALTER TABLE ONLY public.webhook_events
    ADD CONSTRAINT webhook_events_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.webhook_events
    ADD CONSTRAINT webhook_events_webhook_id_key UNIQUE (webhook_id);

ALTER TABLE ONLY public.webhook_messages
    ADD CONSTRAINT webhook_messages_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.webhook_messages
    ADD CONSTRAINT webhook_messages_subscription_id_event_id_key UNIQUE (subscription_id, event_id);

ALTER TABLE ONLY public.webhook_refusal_counts
    ADD CONSTRAINT webhook_refusal_counts_pkey PRIMARY KEY (minute, source, reason, http_status);

ALTER TABLE ONLY public.webhook_refusal_log
    ADD CONSTRAINT webhook_refusal_log_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.webhook_subscription_jobs
    ADD CONSTRAINT webhook_subscription_jobs_pkey PRIMARY KEY (job_id, subscription_id);

ALTER TABLE ONLY public.webhook_subscriptions
    ADD CONSTRAINT webhook_subscriptions_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.worker_processes
    ADD CONSTRAINT worker_processes_pkey PRIMARY KEY (pool_id);

CREATE INDEX alerts_created_idx ON public.alerts USING btree (created_at);

CREATE INDEX alerts_last_seen_idx ON public.alerts USING btree (last_seen_at);

CREATE INDEX budget_reservations_call_ref_idx ON public.budget_reservations USING btree (pending_call_ref) WHERE (pending_call_ref IS NOT NULL);

CREATE INDEX budget_reservations_held_idx ON public.budget_reservations USING btree (service) WHERE (status = 'held'::text);

CREATE UNIQUE INDEX budget_reservations_one_held ON public.budget_reservations USING btree (job_id, stage) WHERE (status = 'held'::text);

CREATE UNIQUE INDEX budget_reservations_request_idx ON public.budget_reservations USING btree (request_id) WHERE (request_id IS NOT NULL);

CREATE INDEX chunks_content_sha256_idx ON public.chunks USING btree (content_sha256);

CREATE INDEX chunks_text_search_idx ON public.chunks USING gin (text_search);

CREATE INDEX cost_ledger_at_idx ON public.cost_ledger USING btree (at);

CREATE INDEX cost_ledger_external_idx ON public.cost_ledger USING btree (service, external_id) WHERE (external_id IS NOT NULL);

CREATE INDEX cost_ledger_job_idx ON public.cost_ledger USING btree (job_id);

CREATE INDEX cost_ledger_reservation_idx ON public.cost_ledger USING btree (reservation_id);

CREATE UNIQUE INDEX cost_ledger_reverses_idx ON public.cost_ledger USING btree (reverses_ledger_id) WHERE (reverses_ledger_id IS NOT NULL);

CREATE INDEX job_events_job_idx ON public.job_events USING btree (job_id, id);

CREATE INDEX job_events_note_at_idx ON public.job_events USING btree (at) WHERE (kind = 'note'::text);

CREATE INDEX job_events_to_state_at_idx ON public.job_events USING btree (to_state, at) WHERE (kind = 'transition'::text);

CREATE INDEX job_events_transition_at_idx ON public.job_events USING btree (at) INCLUDE (from_state, to_state, seconds_in_from_state) WHERE (kind = 'transition'::text);

CREATE INDEX jobs_correlation_idx ON public.jobs USING btree (correlation_id);

CREATE INDEX jobs_document_idx ON public.jobs USING btree (document_id);

CREATE INDEX jobs_state_idx ON public.jobs USING btree (state, state_changed_at);

CREATE INDEX stage_leases_holder ON public.stage_leases USING btree (holder_domain, holder_pid) WHERE (holder_domain IS NOT NULL);

CREATE INDEX webhook_attempts_at_idx ON public.webhook_attempts USING btree (at);

CREATE INDEX webhook_attempts_message_idx ON public.webhook_attempts USING btree (message_id, id);

CREATE INDEX webhook_deliveries_job_idx ON public.webhook_deliveries USING btree (job_id, received_at);

CREATE INDEX webhook_deliveries_received_at_idx ON public.webhook_deliveries USING btree (received_at);

CREATE INDEX webhook_events_created_idx ON public.webhook_events USING btree (created_at);

CREATE INDEX webhook_messages_event_idx ON public.webhook_messages USING btree (event_id);

CREATE INDEX webhook_messages_line_idx ON public.webhook_messages USING btree (subscription_id, line, event_id) WHERE (status = 'pending'::text);

CREATE INDEX webhook_messages_settled_created_idx ON public.webhook_messages USING btree (created_at) WHERE (status <> 'pending'::text);

CREATE INDEX webhook_refusal_counts_minute_idx ON public.webhook_refusal_counts USING btree (minute);

CREATE INDEX webhook_refusal_log_at_idx ON public.webhook_refusal_log USING btree (at);

CREATE INDEX webhook_subscription_jobs_subscription_idx ON public.webhook_subscription_jobs USING btree (subscription_id);

CREATE OR REPLACE VIEW public.cost_by_job AS
 SELECT j.id AS job_id,
    j.file_name,
    j.correlation_id,
    j.state,
    (COALESCE(sum(l.cost_micro_usd), (0)::numeric))::bigint AS cost_micro_usd,
    (count(l.id))::integer AS paid_calls
   FROM (public.jobs j
     LEFT JOIN public.cost_ledger l ON ((l.job_id = j.id)))
  GROUP BY j.id;

CREATE TRIGGER _100_append_only BEFORE DELETE OR UPDATE ON public.circuit_breaker_events FOR EACH ROW EXECUTE FUNCTION public.tg_append_only();

CREATE TRIGGER _100_append_only BEFORE DELETE OR UPDATE ON public.cost_ledger FOR EACH ROW EXECUTE FUNCTION public.tg_append_only();

CREATE TRIGGER _100_append_only BEFORE DELETE OR UPDATE ON public.job_events FOR EACH ROW EXECUTE FUNCTION public.tg_append_only();

CREATE TRIGGER _100_check_events BEFORE INSERT OR UPDATE OF events, callback ON public.webhook_subscriptions FOR EACH ROW EXECUTE FUNCTION public.tg_webhook_subscriptions__check_events();

CREATE TRIGGER _100_check_transition BEFORE INSERT OR UPDATE ON public.jobs FOR EACH ROW EXECUTE FUNCTION public.tg_jobs__check_transition();

CREATE TRIGGER _100_record_state BEFORE UPDATE ON public.circuit_breakers FOR EACH ROW EXECUTE FUNCTION public.tg_circuit_breakers__record();

CREATE TRIGGER _100_text_search BEFORE INSERT OR UPDATE OF content, text_search_language ON public.chunks FOR EACH ROW EXECUTE FUNCTION public.tg_chunks__text_search();

CREATE TRIGGER _101_append_only_truncate BEFORE TRUNCATE ON public.cost_ledger FOR EACH STATEMENT EXECUTE FUNCTION public.tg_append_only();

CREATE TRIGGER _101_append_only_truncate BEFORE TRUNCATE ON public.job_events FOR EACH STATEMENT EXECUTE FUNCTION public.tg_append_only();

CREATE TRIGGER _200_budget_alerts AFTER INSERT ON public.cost_ledger FOR EACH STATEMENT EXECUTE FUNCTION public.tg_cost_ledger__budget_alerts();

CREATE TRIGGER _200_check_lease BEFORE INSERT ON public.cost_ledger FOR EACH ROW EXECUTE FUNCTION public.tg_cost_ledger__check_lease();

CREATE TRIGGER _200_record_event AFTER INSERT OR UPDATE OF state ON public.jobs FOR EACH ROW EXECUTE FUNCTION public.tg_jobs__record_event();

CREATE TRIGGER _250_replace_estimate AFTER INSERT ON public.cost_ledger FOR EACH ROW EXECUTE FUNCTION public.tg_cost_ledger__replace_estimate();

CREATE TRIGGER _300_clear_pending AFTER INSERT ON public.cost_ledger FOR EACH ROW EXECUTE FUNCTION public.tg_cost_ledger__clear_pending();

CREATE TRIGGER _300_publish_webhook_event AFTER INSERT ON public.alerts FOR EACH ROW EXECUTE FUNCTION public.tg_alerts__publish_webhook_event();

CREATE TRIGGER _300_publish_webhook_events AFTER UPDATE OF state ON public.jobs FOR EACH ROW EXECUTE FUNCTION public.tg_jobs__publish_webhook_events();

ALTER TABLE ONLY public.budget_reservations
    ADD CONSTRAINT budget_reservations_job_id_fkey FOREIGN KEY (job_id) REFERENCES public.jobs(id) ON DELETE RESTRICT;

ALTER TABLE ONLY public.budget_reservations
    ADD CONSTRAINT budget_reservations_stage_fkey FOREIGN KEY (stage) REFERENCES public.budget_stages(stage);

ALTER TABLE ONLY public.chunks
    ADD CONSTRAINT chunks_job_id_fkey FOREIGN KEY (job_id) REFERENCES public.jobs(id) ON DELETE RESTRICT;

ALTER TABLE ONLY public.circuit_breaker_probes
    ADD CONSTRAINT circuit_breaker_probes_service_fkey FOREIGN KEY (service) REFERENCES public.circuit_breakers(service) ON DELETE CASCADE;

ALTER TABLE ONLY public.cost_ledger
    ADD CONSTRAINT cost_ledger_job_id_fkey FOREIGN KEY (job_id) REFERENCES public.jobs(id) ON DELETE RESTRICT;

ALTER TABLE ONLY public.cost_ledger
    ADD CONSTRAINT cost_ledger_reservation_id_fkey FOREIGN KEY (reservation_id) REFERENCES public.budget_reservations(id) ON DELETE RESTRICT;

ALTER TABLE ONLY public.cost_ledger
    ADD CONSTRAINT cost_ledger_reverses_ledger_id_fkey FOREIGN KEY (reverses_ledger_id) REFERENCES public.cost_ledger(id) ON DELETE RESTRICT;

ALTER TABLE ONLY public.job_events
    ADD CONSTRAINT job_events_job_id_fkey FOREIGN KEY (job_id) REFERENCES public.jobs(id) ON DELETE RESTRICT;

ALTER TABLE ONLY public.jobs
    ADD CONSTRAINT jobs_document_id_fkey FOREIGN KEY (document_id) REFERENCES public.documents(id) ON DELETE RESTRICT;

ALTER TABLE ONLY public.jobs
    ADD CONSTRAINT jobs_parse_result_id_fkey FOREIGN KEY (parse_result_id) REFERENCES public.parse_results(id) ON DELETE RESTRICT;

ALTER TABLE ONLY public.parse_results
    ADD CONSTRAINT parse_results_document_id_fkey FOREIGN KEY (document_id) REFERENCES public.documents(id) ON DELETE RESTRICT;

ALTER TABLE ONLY public.parsed_pages
    ADD CONSTRAINT parsed_pages_parse_result_id_fkey FOREIGN KEY (parse_result_id) REFERENCES public.parse_results(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.pipeline_stage_tasks
    ADD CONSTRAINT pipeline_stage_tasks_stage_fkey FOREIGN KEY (stage) REFERENCES public.pipeline_stages(stage) ON DELETE CASCADE;

ALTER TABLE ONLY public.pipeline_stages
    ADD CONSTRAINT pipeline_stages_budget_stage_fkey FOREIGN KEY (budget_stage) REFERENCES public.budget_stages(stage);

ALTER TABLE ONLY public.stage_leases
    ADD CONSTRAINT stage_leases_job_id_fkey FOREIGN KEY (job_id) REFERENCES public.jobs(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.stage_leases
    ADD CONSTRAINT stage_leases_stage_fkey FOREIGN KEY (stage) REFERENCES public.pipeline_stages(stage) ON DELETE CASCADE;

ALTER TABLE ONLY public.webhook_attempts
    ADD CONSTRAINT webhook_attempts_message_id_fkey FOREIGN KEY (message_id) REFERENCES public.webhook_messages(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_job_id_fkey FOREIGN KEY (job_id) REFERENCES public.jobs(id) ON DELETE RESTRICT;

ALTER TABLE ONLY public.webhook_events
    ADD CONSTRAINT webhook_events_job_id_fkey FOREIGN KEY (job_id) REFERENCES public.jobs(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.webhook_events
    ADD CONSTRAINT webhook_events_type_fkey FOREIGN KEY (type) REFERENCES public.webhook_event_types(type) ON DELETE RESTRICT;

ALTER TABLE ONLY public.webhook_messages
    ADD CONSTRAINT webhook_messages_event_id_fkey FOREIGN KEY (event_id) REFERENCES public.webhook_events(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.webhook_messages
    ADD CONSTRAINT webhook_messages_subscription_id_fkey FOREIGN KEY (subscription_id) REFERENCES public.webhook_subscriptions(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.webhook_subscription_jobs
    ADD CONSTRAINT webhook_subscription_jobs_job_id_fkey FOREIGN KEY (job_id) REFERENCES public.jobs(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.webhook_subscription_jobs
    ADD CONSTRAINT webhook_subscription_jobs_subscription_id_fkey FOREIGN KEY (subscription_id) REFERENCES public.webhook_subscriptions(id) ON DELETE CASCADE;

INSERT INTO public.job_state_transitions VALUES ('chunking', 'chunks_stored');
INSERT INTO public.job_state_transitions VALUES ('chunking', 'failed_chunking');
INSERT INTO public.job_state_transitions VALUES ('chunks_stored', 'embedding_queued');
INSERT INTO public.job_state_transitions VALUES ('embedding_in_progress', 'embeddings_stored');
INSERT INTO public.job_state_transitions VALUES ('embedding_in_progress', 'failed_embedding');
INSERT INTO public.job_state_transitions VALUES ('embedding_queued', 'embedding_in_progress');
INSERT INTO public.job_state_transitions VALUES ('embedding_queued', 'failed_embedding');
INSERT INTO public.job_state_transitions VALUES ('embeddings_stored', 'complete');
INSERT INTO public.job_state_transitions VALUES ('failed_chunking', 'parsed');
INSERT INTO public.job_state_transitions VALUES ('failed_embedding', 'embedding_queued');
INSERT INTO public.job_state_transitions VALUES ('failed_parse', 'parse_queued');
INSERT INTO public.job_state_transitions VALUES ('parse_queued', 'failed_parse');
INSERT INTO public.job_state_transitions VALUES ('parse_queued', 'parsed');
INSERT INTO public.job_state_transitions VALUES ('parsed', 'chunking');
INSERT INTO public.job_state_transitions VALUES ('parsed', 'failed_chunking');
INSERT INTO public.job_state_transitions VALUES ('uploaded', 'parse_queued');

INSERT INTO public.budget_stages VALUES ('embed', 'the embed stage''s embedding calls');
INSERT INTO public.budget_stages VALUES ('parse', 'the parse stage''s LlamaParse calls');
INSERT INTO public.budget_stages VALUES ('search', 'query embeddings of POST /v1/search and tvdb search');

INSERT INTO public.pipeline_stages VALUES ('chunk', 2, 'job__chunk', 'chunk', NULL, 'parsed', 'chunking', 'chunks_stored', 'embedding_queued', 'failed_chunking', 'parsed', 'TVDB_MAX_ATTEMPTS_CHUNK', NULL, NULL);
INSERT INTO public.pipeline_stages VALUES ('embed', 3, 'job__embed', 'embed', NULL, 'embedding_queued', 'embedding_in_progress', 'embeddings_stored', 'complete', 'failed_embedding', 'embedding_queued', 'TVDB_MAX_ATTEMPTS_EMBED', 'embeddings', 'embed');
INSERT INTO public.pipeline_stages VALUES ('parse', 1, 'job__parse', 'parse', 'uploaded', 'parse_queued', NULL, 'parsed', NULL, 'failed_parse', 'parse_queued', 'TVDB_MAX_ATTEMPTS_PARSE', 'llamaparse', 'parse');

INSERT INTO public.pipeline_stage_tasks VALUES ('job__parse_collect', 'parse', 'collect');

INSERT INTO public.webhook_event_types VALUES ('breaker.open', 'alert', 'breaker_open', 'a circuit breaker opened: an external service is failing');
INSERT INTO public.webhook_event_types VALUES ('budget.alert', 'alert', 'budget_threshold', 'a budget passed 50%, 80% or 100% of its limit');
INSERT INTO public.webhook_event_types VALUES ('job.complete', 'job', NULL, 'a job reached complete: its document is searchable');
INSERT INTO public.webhook_event_types VALUES ('job.failed', 'job', NULL, 'a job entered the failed state of a stage, with the error');
INSERT INTO public.webhook_event_types VALUES ('job.state_changed', 'job', NULL, 'a job moved from one state to another (every move)');
INSERT INTO public.webhook_event_types VALUES ('webhook.test', 'test', NULL, 'a test delivery (tvdb webhooks test)');

INSERT INTO public.price_catalog OVERRIDING SYSTEM VALUE VALUES (1, 'llamaparse', 'credit', 'micro_usd_per_credit', 1250, '2026-01-01 00:00:00+00', 'LlamaCloud pay-as-you-go: $1.25 per 1,000 credits (docs, 2026)');
INSERT INTO public.price_catalog OVERRIDING SYSTEM VALUE VALUES (10, 'local', 'local-hashing-v1', 'micro_usd_per_1m_tokens', 0, '2026-01-01 00:00:00+00', 'in-process, free');
INSERT INTO public.price_catalog OVERRIDING SYSTEM VALUE VALUES (11, 'embeddings', 'text-embedding-3-small', 'max_input_tokens', 8192, '2026-01-01 00:00:00+00', 'OpenAI API reference, embeddings input: 8,192 tokens per input (cl100k_base)');
INSERT INTO public.price_catalog OVERRIDING SYSTEM VALUE VALUES (12, 'embeddings', 'text-embedding-3-small', 'max_inputs_per_request', 2048, '2026-01-01 00:00:00+00', 'OpenAI API reference, embeddings input: at most 2,048 inputs per request');
INSERT INTO public.price_catalog OVERRIDING SYSTEM VALUE VALUES (13, 'embeddings', 'text-embedding-3-small', 'max_tokens_per_request', 300000, '2026-01-01 00:00:00+00', 'OpenAI API reference, embeddings input: 300,000 tokens summed per request');
INSERT INTO public.price_catalog OVERRIDING SYSTEM VALUE VALUES (14, 'embeddings', 'text-embedding-3-large', 'max_input_tokens', 8192, '2026-01-01 00:00:00+00', 'OpenAI API reference, embeddings input: 8,192 tokens per input (cl100k_base)');
INSERT INTO public.price_catalog OVERRIDING SYSTEM VALUE VALUES (15, 'embeddings', 'text-embedding-3-large', 'max_inputs_per_request', 2048, '2026-01-01 00:00:00+00', 'OpenAI API reference, embeddings input: at most 2,048 inputs per request');
INSERT INTO public.price_catalog OVERRIDING SYSTEM VALUE VALUES (16, 'embeddings', 'text-embedding-3-large', 'max_tokens_per_request', 300000, '2026-01-01 00:00:00+00', 'OpenAI API reference, embeddings input: 300,000 tokens summed per request');
INSERT INTO public.price_catalog OVERRIDING SYSTEM VALUE VALUES (17, 'embeddings', 'text-embedding-ada-002', 'max_input_tokens', 8192, '2026-01-01 00:00:00+00', 'OpenAI API reference, embeddings input: 8,192 tokens per input (cl100k_base)');
INSERT INTO public.price_catalog OVERRIDING SYSTEM VALUE VALUES (18, 'embeddings', 'text-embedding-ada-002', 'max_inputs_per_request', 2048, '2026-01-01 00:00:00+00', 'OpenAI API reference, embeddings input: at most 2,048 inputs per request');
INSERT INTO public.price_catalog OVERRIDING SYSTEM VALUE VALUES (19, 'embeddings', 'text-embedding-ada-002', 'max_tokens_per_request', 300000, '2026-01-01 00:00:00+00', 'OpenAI API reference, embeddings input: 300,000 tokens summed per request');
INSERT INTO public.price_catalog OVERRIDING SYSTEM VALUE VALUES (2, 'llamaparse', 'tier:fast', 'credits_per_page', 1, '2026-01-01 00:00:00+00', 'third-party listing 2026-06; confirm with usage.credits');
INSERT INTO public.price_catalog OVERRIDING SYSTEM VALUE VALUES (20, 'local', 'local-hashing-v1', 'max_input_tokens', 8192, '2026-01-01 00:00:00+00', 'OpenAI API reference, embeddings input: 8,192 tokens per input (cl100k_base)');
INSERT INTO public.price_catalog OVERRIDING SYSTEM VALUE VALUES (21, 'local', 'local-hashing-v1', 'max_inputs_per_request', 2048, '2026-01-01 00:00:00+00', 'OpenAI API reference, embeddings input: at most 2,048 inputs per request');
INSERT INTO public.price_catalog OVERRIDING SYSTEM VALUE VALUES (22, 'local', 'local-hashing-v1', 'max_tokens_per_request', 300000, '2026-01-01 00:00:00+00', 'OpenAI API reference, embeddings input: 300,000 tokens summed per request');
INSERT INTO public.price_catalog OVERRIDING SYSTEM VALUE VALUES (3, 'llamaparse', 'tier:cost_effective', 'credits_per_page', 3, '2026-01-01 00:00:00+00', 'third-party listing 2026-06; confirm with usage.credits');
INSERT INTO public.price_catalog OVERRIDING SYSTEM VALUE VALUES (4, 'llamaparse', 'tier:agentic', 'credits_per_page', 10, '2026-01-01 00:00:00+00', 'third-party listing 2026-06; confirm with usage.credits');
INSERT INTO public.price_catalog OVERRIDING SYSTEM VALUE VALUES (5, 'llamaparse', 'tier:agentic_plus', 'credits_per_page', 45, '2026-01-01 00:00:00+00', 'third-party listing 2026-06; confirm with usage.credits');
INSERT INTO public.price_catalog OVERRIDING SYSTEM VALUE VALUES (6, 'embeddings', 'text-embedding-3-small', 'micro_usd_per_1m_tokens', 20000, '2026-01-01 00:00:00+00', 'OpenAI list price $0.02 / 1M tokens');
INSERT INTO public.price_catalog OVERRIDING SYSTEM VALUE VALUES (7, 'embeddings', 'text-embedding-3-large', 'micro_usd_per_1m_tokens', 130000, '2026-01-01 00:00:00+00', 'OpenAI list price $0.13 / 1M tokens');
INSERT INTO public.price_catalog OVERRIDING SYSTEM VALUE VALUES (8, 'embeddings', 'text-embedding-ada-002', 'micro_usd_per_1m_tokens', 100000, '2026-01-01 00:00:00+00', 'OpenAI list price $0.10 / 1M tokens');
INSERT INTO public.price_catalog OVERRIDING SYSTEM VALUE VALUES (9, 'local', 'parser', 'micro_usd_per_page', 0, '2026-01-01 00:00:00+00', 'in-process, free');

INSERT INTO public.budget_alert_thresholds VALUES (0.5);
INSERT INTO public.budget_alert_thresholds VALUES (0.8);
INSERT INTO public.budget_alert_thresholds VALUES (1.0);
