-- Up Migration

-- Issue 22: retention for every table that grows with use. Beside webhook deliveries and refusals
-- (prune_webhook_history), the history task now prunes, older than the retention period:
--   webhook_attempts and webhook_messages of messages no longer pending (delivered, failed,
--   cancelled; a pending message and its attempts stay whatever their age);
--   webhook_events no message refers to any more, except the newest of each job (the next event's
--   sequence number is computed from it, so a job's sequence never goes back);
--   per-upload callbacks (webhook_subscriptions with callback) none of whose jobs is still running
--   or changed within the period, with nothing pending (the links go with them);
--   budget_reservations no longer held, with no pending call, that no cost_ledger row refers to
--   (the ledger is append-only money history and keeps the reservations it names);
--   alerts not seen again within the period.
-- Reservations are visited in id order from a stored watermark (retention_watermarks), so the
-- ones the ledger keeps are not rescanned at every run.
create table retention_watermarks (
  name text primary key,
  last_id bigint not null
);

create index webhook_messages_settled_created_idx on webhook_messages (created_at) where status <> 'pending';

create index alerts_last_seen_idx on alerts (last_seen_at);
