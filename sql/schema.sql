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
    LANGUAGE sql
    AS $$
  insert into job_events (job_id, kind, from_state, to_state, correlation_id, detail)
  select id, 'note', null, state, correlation_id, p_detail from jobs where id = p_job_id;
$$;

CREATE FUNCTION public.advance_job(p_job_id uuid, p_from public.job_state, p_to public.job_state, p_detail jsonb DEFAULT '{}'::jsonb) RETURNS text
    LANGUAGE plpgsql
    AS $$
declare
  v_state job_state;
begin
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

CREATE FUNCTION public.dot_product(a real[], b real[]) RETURNS double precision
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
  select sum(x * y) from unnest(a, b) as t(x, y);
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

CREATE FUNCTION public.tg_append_only() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
  raise exception '% is append-only: % refused', tg_table_name, tg_op
    using errcode = 'TV003';
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

CREATE FUNCTION public.tg_jobs__record_event() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
declare
  v_detail jsonb := coalesce(nullif(current_setting('tvdb.event_detail', true), '')::jsonb, '{}');
begin
  if not v_detail ? 'who' then
    v_detail := v_detail || jsonb_build_object('who', current_user);
  end if;
  if tg_op = 'INSERT' then
    insert into job_events (job_id, kind, from_state, to_state, correlation_id, detail)
    values (new.id, 'created', null, new.state, new.correlation_id, v_detail);
  elsif new.state is distinct from old.state then
    insert into job_events (job_id, kind, from_state, to_state, correlation_id, detail)
    values (new.id, 'transition', old.state, new.state, new.correlation_id, v_detail);
  end if;
  return null;
end $$;

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
    CONSTRAINT chunks_check CHECK ((page_end >= page_start)),
    CONSTRAINT chunks_content_sha256_check CHECK ((octet_length(content_sha256) = 32)),
    CONSTRAINT chunks_ordinal_check CHECK ((ordinal >= 0)),
    CONSTRAINT chunks_overlap_chars_check CHECK ((overlap_chars >= 0)),
    CONSTRAINT chunks_token_count_check CHECK ((token_count > 0))
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
    CONSTRAINT job_events_check CHECK (((kind = 'transition'::text) = (from_state IS NOT NULL))),
    CONSTRAINT job_events_kind_check CHECK ((kind = ANY (ARRAY['created'::text, 'transition'::text, 'note'::text])))
);

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
    CONSTRAINT jobs_correlation_id_check CHECK ((correlation_id <> ''::text)),
    CONSTRAINT jobs_webhook_token_check CHECK ((length(webhook_token) >= 32))
);

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

CREATE TABLE public.webhook_deliveries (
    event_id text NOT NULL,
    event_type text NOT NULL,
    llamaparse_job_id text NOT NULL,
    job_id uuid NOT NULL,
    correlation_id text NOT NULL,
    known_event boolean NOT NULL,
    received_at timestamp with time zone DEFAULT now() NOT NULL
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
 SELECT webhook_refusal_log.reason,
    webhook_refusal_log.http_status,
    (count(*))::integer AS refusals,
    max(webhook_refusal_log.at) AS last_at,
    (count(DISTINCT webhook_refusal_log.source_address))::integer AS sources
   FROM public.webhook_refusal_log
  WHERE (webhook_refusal_log.at > (now() - '24:00:00'::interval))
  GROUP BY webhook_refusal_log.reason, webhook_refusal_log.http_status
  ORDER BY ((count(*))::integer) DESC;

ALTER TABLE ONLY public.pgmigrations ALTER COLUMN id SET DEFAULT nextval('public.pgmigrations_id_seq'::regclass);

ALTER TABLE ONLY public.chunks
    ADD CONSTRAINT chunks_pkey PRIMARY KEY (job_id, ordinal);

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

ALTER TABLE ONLY public.parse_results
    ADD CONSTRAINT parse_results_document_id_parser_settings_key_key UNIQUE (document_id, parser, settings_key);

ALTER TABLE ONLY public.parse_results
    ADD CONSTRAINT parse_results_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.parsed_pages
    ADD CONSTRAINT parsed_pages_pkey PRIMARY KEY (parse_result_id, page_number);

ALTER TABLE ONLY public.pgmigrations
    ADD CONSTRAINT pgmigrations_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (event_id);

ALTER TABLE ONLY public.webhook_refusal_log
    ADD CONSTRAINT webhook_refusal_log_pkey PRIMARY KEY (id);

CREATE INDEX chunks_content_sha256_idx ON public.chunks USING btree (content_sha256);

CREATE INDEX job_events_job_idx ON public.job_events USING btree (job_id, id);

CREATE INDEX job_events_to_state_at_idx ON public.job_events USING btree (to_state, at) WHERE (kind = 'transition'::text);

CREATE INDEX jobs_correlation_idx ON public.jobs USING btree (correlation_id);

CREATE INDEX jobs_document_idx ON public.jobs USING btree (document_id);

CREATE INDEX jobs_state_idx ON public.jobs USING btree (state, state_changed_at);

CREATE INDEX webhook_deliveries_job_idx ON public.webhook_deliveries USING btree (job_id, received_at);

CREATE INDEX webhook_refusal_log_at_idx ON public.webhook_refusal_log USING btree (at);

CREATE TRIGGER _100_append_only BEFORE DELETE OR UPDATE ON public.job_events FOR EACH ROW EXECUTE FUNCTION public.tg_append_only();

CREATE TRIGGER _100_check_transition BEFORE INSERT OR UPDATE ON public.jobs FOR EACH ROW EXECUTE FUNCTION public.tg_jobs__check_transition();

CREATE TRIGGER _101_append_only_truncate BEFORE TRUNCATE ON public.job_events FOR EACH STATEMENT EXECUTE FUNCTION public.tg_append_only();

CREATE TRIGGER _200_record_event AFTER INSERT OR UPDATE OF state ON public.jobs FOR EACH ROW EXECUTE FUNCTION public.tg_jobs__record_event();

ALTER TABLE ONLY public.chunks
    ADD CONSTRAINT chunks_job_id_fkey FOREIGN KEY (job_id) REFERENCES public.jobs(id) ON DELETE RESTRICT;

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

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_job_id_fkey FOREIGN KEY (job_id) REFERENCES public.jobs(id) ON DELETE RESTRICT;
