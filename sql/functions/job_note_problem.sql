-- Why a note's detail is not one the pipeline writes (null when it is): its event must be one of
-- job_note_shapes and its fields of the listed types (a name ending in ? is optional). add_job_note
-- refuses any other (issue 22, point 2: least privilege that holds).
create or replace function job_note_problem(p_detail jsonb) returns text
language plpgsql immutable as $$
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
