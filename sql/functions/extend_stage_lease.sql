-- Keep a lease: set its expiry to now + p_for (p_at_least: never shorten it). False when the
-- token is no longer the stage's (another run took over after this one's lease ran out).
create or replace function extend_stage_lease(p_job_id uuid, p_stage text, p_token bigint, p_for interval, p_at_least boolean default false)
returns boolean
language sql volatile as $$
  update stage_leases
  set expires_at = case when p_at_least then greatest(expires_at, clock_timestamp() + p_for) else clock_timestamp() + p_for end
  where job_id = p_job_id and stage = p_stage and token = p_token
  returning true;
$$;
