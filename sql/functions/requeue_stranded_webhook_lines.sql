-- Lines with messages due for two minutes but no live task (one that failed for good, say through
-- a long database outage, keeps its key but never runs): queued again. Run every few minutes by
-- the webhook__reconcile task. Returns the number of lines queued.
create or replace function requeue_stranded_webhook_lines()
returns int
language plpgsql volatile as $$
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
