-- Retention (task history__prune): deliveries, refusal rows and refusal counts older than
-- p_before, at most p_batch rows of each per call (the task calls again while rows go), so no call
-- holds locks for long. A delivery older than the webhook timestamp tolerance can no longer be
-- replayed, so its row is not needed for deduplication. Returns the rows deleted.
create or replace function prune_webhook_history(p_before timestamptz, p_batch int) returns int
language plpgsql volatile as $$
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
