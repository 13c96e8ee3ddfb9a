-- One batch of each kind (at most p_batch rows of each table): returns what it deleted, per table,
-- and budget_reservations_passed (1 when the reservations' watermark moved). Called until every
-- value is 0; each call is one short transaction. Each batch's ids are collected into an array
-- first (id = any (array(...))): with statistics stale after large deletes, the planner turned
-- `id in (select ... limit n)` into a nested loop over the whole table (20 s a batch of 5,000).
create or replace function prune_growing_history(p_before timestamptz, p_batch int)
returns jsonb
language plpgsql volatile as $$
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
