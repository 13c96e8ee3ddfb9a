-- The chunk stage's clean-up note (issue 23: images and non-text runs left out) is a note the
-- pipeline writes: add_job_note (000072) accepts only the shapes job_note_shapes lists.
--
-- Before 000084:
-- The notes the pipeline writes, each with its fields and their JSON types (a trailing ? marks an
-- optional field). Anything else is refused: an unknown kind, a missing or unknown field, a field
-- of the wrong type, a text longer than 4000 characters.
create or replace function job_note_shapes() returns jsonb
language sql immutable as $$
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
