-- Queue a line's delivery task. One pending task per line (job key); tasks of a subscription run in
-- 16 serial queues by a hash of the line, so no two runs of one line overlap while lines of
-- different jobs go in parallel. p_mode 'preserve_run_at' (new events) keeps a retry's scheduled
-- time; 'replace' (the task rescheduling itself) sets it.
create or replace function enqueue_webhook_line(p_subscription_id bigint, p_line text, p_run_at timestamptz default null,
                                     p_mode text default 'preserve_run_at')
returns void
language sql volatile as $$
  select graphile_worker.add_job('webhook__deliver',
    json_build_object('subscriptionId', p_subscription_id, 'line', p_line),
    queue_name => format('webhook:%s:%s', p_subscription_id, abs(hashtext(p_line)) % 16),
    run_at => coalesce(p_run_at, now()),
    max_attempts => 25,
    job_key => format('webhook:%s:%s', p_subscription_id, p_line),
    job_key_mode => p_mode);
$$;
