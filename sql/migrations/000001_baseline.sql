-- Up Migration

-- The baseline: tables, types, sequences, indexes, constraints and the rows of the rule tables, as the
-- 26 migrations up to release b303886 (000001_job_state_machine .. 000061_stage_run_round_trips) left
-- them, taken from pg_dump of a database they built. Functions, trigger functions, triggers and views
-- are not here: they live in sql/functions/ and sql/views/, applied by `tvdb migrate` after the
-- migrations. Why a table or column is the way it is: `git log -p` of the old migrations
-- (`git show b303886:sql/migrations/`).
--
-- A database migrated by that release has those 26 rows in pgmigrations: `tvdb migrate` replaces
-- them with this file's row before running migrations (lib/db/baseline.ts), so this file never runs
-- there. A database stopped at an earlier migration is refused: migrate it with release b303886 first.

--
-- Name: job_state; Type: TYPE; Schema: public; Owner: postgres
--

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

ALTER TYPE public.job_state OWNER TO postgres;

--
-- Name: alerts; Type: TABLE; Schema: public; Owner: postgres
--

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

ALTER TABLE public.alerts OWNER TO postgres;

--
-- Name: alerts_id_seq; Type: SEQUENCE; Schema: public; Owner: postgres
--

ALTER TABLE public.alerts ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.alerts_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: budget_alert_thresholds; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.budget_alert_thresholds (
    share numeric NOT NULL,
    CONSTRAINT budget_alert_thresholds_share_check CHECK ((share > (0)::numeric))
);

ALTER TABLE public.budget_alert_thresholds OWNER TO postgres;

--
-- Name: budget_reservations; Type: TABLE; Schema: public; Owner: postgres
--

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
    CONSTRAINT budget_reservations_amount_micro_usd_check CHECK ((amount_micro_usd >= 0)),
    CONSTRAINT budget_reservations_one_owner CHECK (((job_id IS NULL) <> (request_id IS NULL))),
    CONSTRAINT budget_reservations_pending_call_micro_usd_check CHECK ((pending_call_micro_usd >= 0)),
    CONSTRAINT budget_reservations_service_check CHECK ((service = ANY (ARRAY['llamaparse'::text, 'embeddings'::text]))),
    CONSTRAINT budget_reservations_stage_check CHECK ((stage = ANY (ARRAY['parse'::text, 'embed'::text, 'search'::text]))),
    CONSTRAINT budget_reservations_status_check CHECK ((status = ANY (ARRAY['held'::text, 'settled'::text, 'expired'::text, 'released'::text])))
);

ALTER TABLE public.budget_reservations OWNER TO postgres;

--
-- Name: budget_reservations_id_seq; Type: SEQUENCE; Schema: public; Owner: postgres
--

ALTER TABLE public.budget_reservations ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.budget_reservations_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: budgets; Type: TABLE; Schema: public; Owner: postgres
--

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

ALTER TABLE public.budgets OWNER TO postgres;

--
-- Name: cost_ledger; Type: TABLE; Schema: public; Owner: postgres
--

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
    CONSTRAINT cost_ledger_cost_micro_usd_check CHECK ((cost_micro_usd >= 0)),
    CONSTRAINT cost_ledger_service_check CHECK ((service = ANY (ARRAY['llamaparse'::text, 'embeddings'::text]))),
    CONSTRAINT cost_ledger_units_check CHECK ((units >= 0))
);

ALTER TABLE public.cost_ledger OWNER TO postgres;

--
-- Name: budgets_id_seq; Type: SEQUENCE; Schema: public; Owner: postgres
--

ALTER TABLE public.budgets ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.budgets_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: chunks; Type: TABLE; Schema: public; Owner: postgres
--

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

ALTER TABLE public.chunks OWNER TO postgres;

--
-- Name: circuit_breaker_events; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.circuit_breaker_events (
    id bigint NOT NULL,
    service text NOT NULL,
    from_state text NOT NULL,
    to_state text NOT NULL,
    reason text NOT NULL,
    at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE public.circuit_breaker_events OWNER TO postgres;

--
-- Name: circuit_breaker_events_id_seq; Type: SEQUENCE; Schema: public; Owner: postgres
--

ALTER TABLE public.circuit_breaker_events ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.circuit_breaker_events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: circuit_breaker_probes; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.circuit_breaker_probes (
    id bigint NOT NULL,
    service text NOT NULL,
    expires_at timestamp with time zone NOT NULL
);

ALTER TABLE public.circuit_breaker_probes OWNER TO postgres;

--
-- Name: circuit_breaker_probes_id_seq; Type: SEQUENCE; Schema: public; Owner: postgres
--

ALTER TABLE public.circuit_breaker_probes ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.circuit_breaker_probes_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: circuit_breakers; Type: TABLE; Schema: public; Owner: postgres
--

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

ALTER TABLE public.circuit_breakers OWNER TO postgres;

--
-- Name: cost_ledger_id_seq; Type: SEQUENCE; Schema: public; Owner: postgres
--

ALTER TABLE public.cost_ledger ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.cost_ledger_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: document_upload_parts; Type: TABLE; Schema: public; Owner: postgres
--

CREATE UNLOGGED TABLE public.document_upload_parts (
    upload_id uuid NOT NULL,
    ordinal integer NOT NULL,
    bytes bytea NOT NULL,
    CONSTRAINT document_upload_parts_ordinal_check CHECK ((ordinal >= 0))
);

ALTER TABLE public.document_upload_parts OWNER TO postgres;

--
-- Name: documents; Type: TABLE; Schema: public; Owner: postgres
--

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

ALTER TABLE public.documents OWNER TO postgres;

--
-- Name: documents_id_seq; Type: SEQUENCE; Schema: public; Owner: postgres
--

ALTER TABLE public.documents ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.documents_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: embeddings; Type: TABLE; Schema: public; Owner: postgres
--

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

ALTER TABLE public.embeddings OWNER TO postgres;

--
-- Name: job_events; Type: TABLE; Schema: public; Owner: postgres
--

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

ALTER TABLE public.job_events OWNER TO postgres;

--
-- Name: pipeline_stages; Type: TABLE; Schema: public; Owner: postgres
--

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
    attempts_setting text NOT NULL
);

ALTER TABLE public.pipeline_stages OWNER TO postgres;

--
-- Name: job_events_id_seq; Type: SEQUENCE; Schema: public; Owner: postgres
--

ALTER TABLE public.job_events ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.job_events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: job_state_transitions; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.job_state_transitions (
    from_state public.job_state NOT NULL,
    to_state public.job_state NOT NULL,
    CONSTRAINT job_state_transitions_check CHECK ((from_state <> to_state))
);

ALTER TABLE public.job_state_transitions OWNER TO postgres;

--
-- Name: jobs; Type: TABLE; Schema: public; Owner: postgres
--

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

ALTER TABLE public.jobs OWNER TO postgres;

--
-- Name: metric_series; Type: TABLE; Schema: public; Owner: postgres
--

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

ALTER TABLE public.metric_series OWNER TO postgres;

--
-- Name: parse_results; Type: TABLE; Schema: public; Owner: postgres
--

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

ALTER TABLE public.parse_results OWNER TO postgres;

--
-- Name: parse_results_id_seq; Type: SEQUENCE; Schema: public; Owner: postgres
--

ALTER TABLE public.parse_results ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.parse_results_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: parsed_pages; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.parsed_pages (
    parse_result_id bigint NOT NULL,
    page_number integer NOT NULL,
    markdown text NOT NULL,
    CONSTRAINT parsed_pages_page_number_check CHECK ((page_number > 0))
);

ALTER TABLE public.parsed_pages OWNER TO postgres;

--
-- Name: pipeline_stage_tasks; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.pipeline_stage_tasks (
    task text NOT NULL,
    stage text NOT NULL,
    job_key_prefix text NOT NULL
);

ALTER TABLE public.pipeline_stage_tasks OWNER TO postgres;

--
-- Name: price_catalog; Type: TABLE; Schema: public; Owner: postgres
--

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
    CONSTRAINT price_catalog_unit_check CHECK ((unit = ANY (ARRAY['micro_usd_per_credit'::text, 'credits_per_page'::text, 'micro_usd_per_1m_tokens'::text, 'micro_usd_per_page'::text])))
);

ALTER TABLE public.price_catalog OWNER TO postgres;

--
-- Name: price_catalog_id_seq; Type: SEQUENCE; Schema: public; Owner: postgres
--

ALTER TABLE public.price_catalog ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.price_catalog_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: rate_limits; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.rate_limits (
    bucket text NOT NULL,
    capacity numeric NOT NULL,
    refill_per_s numeric NOT NULL,
    tokens numeric NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT rate_limits_capacity_check CHECK ((capacity > (0)::numeric)),
    CONSTRAINT rate_limits_refill_per_s_check CHECK ((refill_per_s > (0)::numeric))
);

ALTER TABLE public.rate_limits OWNER TO postgres;

--
-- Name: stage_lease_tokens; Type: SEQUENCE; Schema: public; Owner: postgres
--

CREATE SEQUENCE public.stage_lease_tokens
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER TABLE public.stage_lease_tokens OWNER TO postgres;

--
-- Name: stage_leases; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.stage_leases (
    job_id uuid NOT NULL,
    stage text NOT NULL,
    token bigint NOT NULL,
    owner text NOT NULL,
    acquired_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL
);

ALTER TABLE public.stage_leases OWNER TO postgres;

--
-- Name: webhook_attempts; Type: TABLE; Schema: public; Owner: postgres
--

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

ALTER TABLE public.webhook_attempts OWNER TO postgres;

--
-- Name: webhook_attempts_id_seq; Type: SEQUENCE; Schema: public; Owner: postgres
--

ALTER TABLE public.webhook_attempts ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.webhook_attempts_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: webhook_deliveries; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.webhook_deliveries (
    event_id text NOT NULL,
    event_type text NOT NULL,
    llamaparse_job_id text NOT NULL,
    job_id uuid NOT NULL,
    correlation_id text NOT NULL,
    known_event boolean NOT NULL,
    received_at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE public.webhook_deliveries OWNER TO postgres;

--
-- Name: webhook_events; Type: TABLE; Schema: public; Owner: postgres
--

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

ALTER TABLE public.webhook_events OWNER TO postgres;

--
-- Name: webhook_messages; Type: TABLE; Schema: public; Owner: postgres
--

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

ALTER TABLE public.webhook_messages OWNER TO postgres;

--
-- Name: webhook_subscriptions; Type: TABLE; Schema: public; Owner: postgres
--

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

ALTER TABLE public.webhook_subscriptions OWNER TO postgres;

--
-- Name: webhook_event_types; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.webhook_event_types (
    type text NOT NULL,
    scope text NOT NULL,
    alert_kind text,
    description text NOT NULL,
    CONSTRAINT webhook_event_types_check CHECK (((scope = 'alert'::text) = (alert_kind IS NOT NULL))),
    CONSTRAINT webhook_event_types_scope_check CHECK ((scope = ANY (ARRAY['job'::text, 'alert'::text, 'test'::text])))
);

ALTER TABLE public.webhook_event_types OWNER TO postgres;

--
-- Name: webhook_events_id_seq; Type: SEQUENCE; Schema: public; Owner: postgres
--

ALTER TABLE public.webhook_events ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.webhook_events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: webhook_messages_id_seq; Type: SEQUENCE; Schema: public; Owner: postgres
--

ALTER TABLE public.webhook_messages ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.webhook_messages_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: webhook_refusal_counts; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.webhook_refusal_counts (
    minute timestamp with time zone NOT NULL,
    source text NOT NULL,
    reason text NOT NULL,
    http_status integer NOT NULL,
    refusals bigint DEFAULT 0 NOT NULL,
    stored integer DEFAULT 0 NOT NULL,
    last_at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE public.webhook_refusal_counts OWNER TO postgres;

--
-- Name: webhook_refusal_log; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.webhook_refusal_log (
    id bigint NOT NULL,
    at timestamp with time zone DEFAULT now() NOT NULL,
    reason text NOT NULL,
    http_status integer NOT NULL,
    source_address inet,
    detail text,
    CONSTRAINT webhook_refusal_log_reason_check CHECK ((reason = ANY (ARRAY['forbidden_source'::text, 'too_large'::text, 'missing_signature'::text, 'bad_signature'::text, 'malformed'::text, 'unknown_token'::text, 'job_mismatch'::text, 'stale_timestamp'::text])))
);

ALTER TABLE public.webhook_refusal_log OWNER TO postgres;

--
-- Name: webhook_refusal_log_id_seq; Type: SEQUENCE; Schema: public; Owner: postgres
--

ALTER TABLE public.webhook_refusal_log ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.webhook_refusal_log_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: webhook_subscription_jobs; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.webhook_subscription_jobs (
    job_id uuid NOT NULL,
    subscription_id bigint NOT NULL
);

ALTER TABLE public.webhook_subscription_jobs OWNER TO postgres;

--
-- Name: webhook_subscriptions_id_seq; Type: SEQUENCE; Schema: public; Owner: postgres
--

ALTER TABLE public.webhook_subscriptions ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.webhook_subscriptions_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: worker_processes; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.worker_processes (
    pool_id text NOT NULL,
    host text NOT NULL,
    pid integer NOT NULL,
    started_at timestamp with time zone DEFAULT now() NOT NULL,
    heartbeat_at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE public.worker_processes OWNER TO postgres;

--
-- Data for Name: budget_alert_thresholds; Type: TABLE DATA; Schema: public; Owner: postgres
--

INSERT INTO public.budget_alert_thresholds VALUES (0.5);
INSERT INTO public.budget_alert_thresholds VALUES (0.8);
INSERT INTO public.budget_alert_thresholds VALUES (1.0);

--
-- Data for Name: circuit_breakers; Type: TABLE DATA; Schema: public; Owner: postgres
--

INSERT INTO public.circuit_breakers VALUES ('llamaparse', 'closed', 0, NULL, 0, '2026-12-04 15:44:59.718787+00');
INSERT INTO public.circuit_breakers VALUES ('embeddings', 'closed', 0, NULL, 0, '2026-12-04 15:44:59.718787+00');

--
-- Data for Name: job_state_transitions; Type: TABLE DATA; Schema: public; Owner: postgres
--

INSERT INTO public.job_state_transitions VALUES ('uploaded', 'parse_queued');
INSERT INTO public.job_state_transitions VALUES ('parse_queued', 'parsed');
INSERT INTO public.job_state_transitions VALUES ('parsed', 'chunking');
INSERT INTO public.job_state_transitions VALUES ('chunking', 'chunks_stored');
INSERT INTO public.job_state_transitions VALUES ('chunks_stored', 'embedding_queued');
INSERT INTO public.job_state_transitions VALUES ('embedding_queued', 'embedding_in_progress');
INSERT INTO public.job_state_transitions VALUES ('embedding_in_progress', 'embeddings_stored');
INSERT INTO public.job_state_transitions VALUES ('embeddings_stored', 'complete');
INSERT INTO public.job_state_transitions VALUES ('parse_queued', 'failed_parse');
INSERT INTO public.job_state_transitions VALUES ('parsed', 'failed_chunking');
INSERT INTO public.job_state_transitions VALUES ('chunking', 'failed_chunking');
INSERT INTO public.job_state_transitions VALUES ('embedding_queued', 'failed_embedding');
INSERT INTO public.job_state_transitions VALUES ('embedding_in_progress', 'failed_embedding');
INSERT INTO public.job_state_transitions VALUES ('failed_parse', 'parse_queued');
INSERT INTO public.job_state_transitions VALUES ('failed_chunking', 'parsed');
INSERT INTO public.job_state_transitions VALUES ('failed_embedding', 'embedding_queued');

--
-- Data for Name: pipeline_stages; Type: TABLE DATA; Schema: public; Owner: postgres
--

INSERT INTO public.pipeline_stages VALUES ('parse', 1, 'job__parse', 'parse', 'uploaded', 'parse_queued', NULL, 'parsed', NULL, 'failed_parse', 'parse_queued', 'TVDB_MAX_ATTEMPTS_PARSE');
INSERT INTO public.pipeline_stages VALUES ('chunk', 2, 'job__chunk', 'chunk', NULL, 'parsed', 'chunking', 'chunks_stored', 'embedding_queued', 'failed_chunking', 'parsed', 'TVDB_MAX_ATTEMPTS_CHUNK');
INSERT INTO public.pipeline_stages VALUES ('embed', 3, 'job__embed', 'embed', NULL, 'embedding_queued', 'embedding_in_progress', 'embeddings_stored', 'complete', 'failed_embedding', 'embedding_queued', 'TVDB_MAX_ATTEMPTS_EMBED');

--
-- Data for Name: pipeline_stage_tasks; Type: TABLE DATA; Schema: public; Owner: postgres
--

INSERT INTO public.pipeline_stage_tasks VALUES ('job__parse_collect', 'parse', 'collect');

--
-- Data for Name: price_catalog; Type: TABLE DATA; Schema: public; Owner: postgres
--

INSERT INTO public.price_catalog OVERRIDING SYSTEM VALUE VALUES (1, 'llamaparse', 'credit', 'micro_usd_per_credit', 1250, '2026-01-01 00:00:00+00', 'LlamaCloud pay-as-you-go: $1.25 per 1,000 credits (docs, 2026)');
INSERT INTO public.price_catalog OVERRIDING SYSTEM VALUE VALUES (2, 'llamaparse', 'tier:fast', 'credits_per_page', 1, '2026-01-01 00:00:00+00', 'third-party listing 2026-06; confirm with usage.credits');
INSERT INTO public.price_catalog OVERRIDING SYSTEM VALUE VALUES (3, 'llamaparse', 'tier:cost_effective', 'credits_per_page', 3, '2026-01-01 00:00:00+00', 'third-party listing 2026-06; confirm with usage.credits');
INSERT INTO public.price_catalog OVERRIDING SYSTEM VALUE VALUES (4, 'llamaparse', 'tier:agentic', 'credits_per_page', 10, '2026-01-01 00:00:00+00', 'third-party listing 2026-06; confirm with usage.credits');
INSERT INTO public.price_catalog OVERRIDING SYSTEM VALUE VALUES (5, 'llamaparse', 'tier:agentic_plus', 'credits_per_page', 45, '2026-01-01 00:00:00+00', 'third-party listing 2026-06; confirm with usage.credits');
INSERT INTO public.price_catalog OVERRIDING SYSTEM VALUE VALUES (6, 'embeddings', 'text-embedding-3-small', 'micro_usd_per_1m_tokens', 20000, '2026-01-01 00:00:00+00', 'OpenAI list price $0.02 / 1M tokens');
INSERT INTO public.price_catalog OVERRIDING SYSTEM VALUE VALUES (7, 'embeddings', 'text-embedding-3-large', 'micro_usd_per_1m_tokens', 130000, '2026-01-01 00:00:00+00', 'OpenAI list price $0.13 / 1M tokens');
INSERT INTO public.price_catalog OVERRIDING SYSTEM VALUE VALUES (8, 'embeddings', 'text-embedding-ada-002', 'micro_usd_per_1m_tokens', 100000, '2026-01-01 00:00:00+00', 'OpenAI list price $0.10 / 1M tokens');
INSERT INTO public.price_catalog OVERRIDING SYSTEM VALUE VALUES (9, 'local', 'parser', 'micro_usd_per_page', 0, '2026-01-01 00:00:00+00', 'in-process, free');
INSERT INTO public.price_catalog OVERRIDING SYSTEM VALUE VALUES (10, 'local', 'local-hashing-v1', 'micro_usd_per_1m_tokens', 0, '2026-01-01 00:00:00+00', 'in-process, free');

--
-- Name: price_catalog_id_seq; Type: SEQUENCE SET; Schema: public; Owner: postgres
--

SELECT pg_catalog.setval('public.price_catalog_id_seq', 10, true);

--
-- Data for Name: webhook_event_types; Type: TABLE DATA; Schema: public; Owner: postgres
--

INSERT INTO public.webhook_event_types VALUES ('job.state_changed', 'job', NULL, 'a job moved from one state to another (every move)');
INSERT INTO public.webhook_event_types VALUES ('job.complete', 'job', NULL, 'a job reached complete: its document is searchable');
INSERT INTO public.webhook_event_types VALUES ('job.failed', 'job', NULL, 'a job entered the failed state of a stage, with the error');
INSERT INTO public.webhook_event_types VALUES ('budget.alert', 'alert', 'budget_threshold', 'a budget passed 50%, 80% or 100% of its limit');
INSERT INTO public.webhook_event_types VALUES ('breaker.open', 'alert', 'breaker_open', 'a circuit breaker opened: an external service is failing');
INSERT INTO public.webhook_event_types VALUES ('webhook.test', 'test', NULL, 'a test delivery (tvdb webhooks test)');

--
-- Name: alerts alerts_dedupe_key_key; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.alerts
    ADD CONSTRAINT alerts_dedupe_key_key UNIQUE (dedupe_key);

--
-- Name: alerts alerts_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.alerts
    ADD CONSTRAINT alerts_pkey PRIMARY KEY (id);

--
-- Name: budget_alert_thresholds budget_alert_thresholds_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.budget_alert_thresholds
    ADD CONSTRAINT budget_alert_thresholds_pkey PRIMARY KEY (share);

--
-- Name: budget_reservations budget_reservations_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.budget_reservations
    ADD CONSTRAINT budget_reservations_pkey PRIMARY KEY (id);

--
-- Name: budgets budgets_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.budgets
    ADD CONSTRAINT budgets_pkey PRIMARY KEY (id);

--
-- Name: budgets budgets_scope_period_key; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.budgets
    ADD CONSTRAINT budgets_scope_period_key UNIQUE (scope, period);

--
-- Name: chunks chunks_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.chunks
    ADD CONSTRAINT chunks_pkey PRIMARY KEY (job_id, ordinal);

--
-- Name: circuit_breaker_events circuit_breaker_events_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.circuit_breaker_events
    ADD CONSTRAINT circuit_breaker_events_pkey PRIMARY KEY (id);

--
-- Name: circuit_breaker_probes circuit_breaker_probes_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.circuit_breaker_probes
    ADD CONSTRAINT circuit_breaker_probes_pkey PRIMARY KEY (id);

--
-- Name: circuit_breakers circuit_breakers_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.circuit_breakers
    ADD CONSTRAINT circuit_breakers_pkey PRIMARY KEY (service);

--
-- Name: cost_ledger cost_ledger_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.cost_ledger
    ADD CONSTRAINT cost_ledger_pkey PRIMARY KEY (id);

--
-- Name: document_upload_parts document_upload_parts_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.document_upload_parts
    ADD CONSTRAINT document_upload_parts_pkey PRIMARY KEY (upload_id, ordinal);

--
-- Name: documents documents_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.documents
    ADD CONSTRAINT documents_pkey PRIMARY KEY (id);

--
-- Name: documents documents_sha256_key; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.documents
    ADD CONSTRAINT documents_sha256_key UNIQUE (sha256);

--
-- Name: embeddings embeddings_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.embeddings
    ADD CONSTRAINT embeddings_pkey PRIMARY KEY (content_sha256, model, dimensions);

--
-- Name: job_events job_events_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.job_events
    ADD CONSTRAINT job_events_pkey PRIMARY KEY (id);

--
-- Name: job_state_transitions job_state_transitions_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.job_state_transitions
    ADD CONSTRAINT job_state_transitions_pkey PRIMARY KEY (from_state, to_state);

--
-- Name: jobs jobs_llamaparse_job_id_key; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.jobs
    ADD CONSTRAINT jobs_llamaparse_job_id_key UNIQUE (llamaparse_job_id);

--
-- Name: jobs jobs_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.jobs
    ADD CONSTRAINT jobs_pkey PRIMARY KEY (id);

--
-- Name: jobs jobs_webhook_token_key; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.jobs
    ADD CONSTRAINT jobs_webhook_token_key UNIQUE (webhook_token);

--
-- Name: metric_series metric_series_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.metric_series
    ADD CONSTRAINT metric_series_pkey PRIMARY KEY (name, labels, shard);

--
-- Name: parse_results parse_results_document_id_parser_settings_key_key; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.parse_results
    ADD CONSTRAINT parse_results_document_id_parser_settings_key_key UNIQUE (document_id, parser, settings_key);

--
-- Name: parse_results parse_results_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.parse_results
    ADD CONSTRAINT parse_results_pkey PRIMARY KEY (id);

--
-- Name: parsed_pages parsed_pages_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.parsed_pages
    ADD CONSTRAINT parsed_pages_pkey PRIMARY KEY (parse_result_id, page_number);

--
-- Name: pipeline_stage_tasks pipeline_stage_tasks_job_key_prefix_key; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.pipeline_stage_tasks
    ADD CONSTRAINT pipeline_stage_tasks_job_key_prefix_key UNIQUE (job_key_prefix);

--
-- Name: pipeline_stage_tasks pipeline_stage_tasks_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.pipeline_stage_tasks
    ADD CONSTRAINT pipeline_stage_tasks_pkey PRIMARY KEY (task);

--
-- Name: pipeline_stages pipeline_stages_failed_key; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.pipeline_stages
    ADD CONSTRAINT pipeline_stages_failed_key UNIQUE (failed);

--
-- Name: pipeline_stages pipeline_stages_job_key_prefix_key; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.pipeline_stages
    ADD CONSTRAINT pipeline_stages_job_key_prefix_key UNIQUE (job_key_prefix);

--
-- Name: pipeline_stages pipeline_stages_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.pipeline_stages
    ADD CONSTRAINT pipeline_stages_pkey PRIMARY KEY (stage);

--
-- Name: pipeline_stages pipeline_stages_position_key; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.pipeline_stages
    ADD CONSTRAINT pipeline_stages_position_key UNIQUE ("position");

--
-- Name: pipeline_stages pipeline_stages_task_key; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.pipeline_stages
    ADD CONSTRAINT pipeline_stages_task_key UNIQUE (task);

--
-- Name: price_catalog price_catalog_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.price_catalog
    ADD CONSTRAINT price_catalog_pkey PRIMARY KEY (id);

--
-- Name: price_catalog price_catalog_service_sku_unit_effective_from_key; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.price_catalog
    ADD CONSTRAINT price_catalog_service_sku_unit_effective_from_key UNIQUE (service, sku, unit, effective_from);

--
-- Name: rate_limits rate_limits_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.rate_limits
    ADD CONSTRAINT rate_limits_pkey PRIMARY KEY (bucket);

--
-- Name: stage_leases stage_leases_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.stage_leases
    ADD CONSTRAINT stage_leases_pkey PRIMARY KEY (job_id, stage);

--
-- Name: stage_leases stage_leases_token_key; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.stage_leases
    ADD CONSTRAINT stage_leases_token_key UNIQUE (token);

--
-- Name: webhook_attempts webhook_attempts_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.webhook_attempts
    ADD CONSTRAINT webhook_attempts_pkey PRIMARY KEY (id);

--
-- Name: webhook_deliveries webhook_deliveries_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (event_id);

--
-- Name: webhook_event_types webhook_event_types_alert_kind_key; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.webhook_event_types
    ADD CONSTRAINT webhook_event_types_alert_kind_key UNIQUE (alert_kind);

--
-- Name: webhook_event_types webhook_event_types_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.webhook_event_types
    ADD CONSTRAINT webhook_event_types_pkey PRIMARY KEY (type);

--
-- Name: webhook_events webhook_events_job_id_sequence_key; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.webhook_events
    ADD CONSTRAINT webhook_events_job_id_sequence_key UNIQUE (job_id, sequence);

--
-- Name: webhook_events webhook_events_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.webhook_events
    ADD CONSTRAINT webhook_events_pkey PRIMARY KEY (id);

--
-- Name: webhook_events webhook_events_webhook_id_key; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.webhook_events
    ADD CONSTRAINT webhook_events_webhook_id_key UNIQUE (webhook_id);

--
-- Name: webhook_messages webhook_messages_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.webhook_messages
    ADD CONSTRAINT webhook_messages_pkey PRIMARY KEY (id);

--
-- Name: webhook_messages webhook_messages_subscription_id_event_id_key; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.webhook_messages
    ADD CONSTRAINT webhook_messages_subscription_id_event_id_key UNIQUE (subscription_id, event_id);

--
-- Name: webhook_refusal_counts webhook_refusal_counts_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.webhook_refusal_counts
    ADD CONSTRAINT webhook_refusal_counts_pkey PRIMARY KEY (minute, source, reason, http_status);

--
-- Name: webhook_refusal_log webhook_refusal_log_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.webhook_refusal_log
    ADD CONSTRAINT webhook_refusal_log_pkey PRIMARY KEY (id);

--
-- Name: webhook_subscription_jobs webhook_subscription_jobs_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.webhook_subscription_jobs
    ADD CONSTRAINT webhook_subscription_jobs_pkey PRIMARY KEY (job_id, subscription_id);

--
-- Name: webhook_subscriptions webhook_subscriptions_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.webhook_subscriptions
    ADD CONSTRAINT webhook_subscriptions_pkey PRIMARY KEY (id);

--
-- Name: worker_processes worker_processes_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.worker_processes
    ADD CONSTRAINT worker_processes_pkey PRIMARY KEY (pool_id);

--
-- Name: alerts_created_idx; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX alerts_created_idx ON public.alerts USING btree (created_at);

--
-- Name: budget_reservations_held_idx; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX budget_reservations_held_idx ON public.budget_reservations USING btree (service) WHERE (status = 'held'::text);

--
-- Name: budget_reservations_one_held; Type: INDEX; Schema: public; Owner: postgres
--

CREATE UNIQUE INDEX budget_reservations_one_held ON public.budget_reservations USING btree (job_id, stage) WHERE (status = 'held'::text);

--
-- Name: budget_reservations_request_idx; Type: INDEX; Schema: public; Owner: postgres
--

CREATE UNIQUE INDEX budget_reservations_request_idx ON public.budget_reservations USING btree (request_id) WHERE (request_id IS NOT NULL);

--
-- Name: chunks_content_sha256_idx; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX chunks_content_sha256_idx ON public.chunks USING btree (content_sha256);

--
-- Name: chunks_text_search_idx; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX chunks_text_search_idx ON public.chunks USING gin (text_search);

--
-- Name: cost_ledger_at_idx; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX cost_ledger_at_idx ON public.cost_ledger USING btree (at);

--
-- Name: cost_ledger_job_idx; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX cost_ledger_job_idx ON public.cost_ledger USING btree (job_id);

--
-- Name: cost_ledger_reservation_idx; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX cost_ledger_reservation_idx ON public.cost_ledger USING btree (reservation_id);

--
-- Name: job_events_job_idx; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX job_events_job_idx ON public.job_events USING btree (job_id, id);

--
-- Name: job_events_note_at_idx; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX job_events_note_at_idx ON public.job_events USING btree (at) WHERE (kind = 'note'::text);

--
-- Name: job_events_to_state_at_idx; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX job_events_to_state_at_idx ON public.job_events USING btree (to_state, at) WHERE (kind = 'transition'::text);

--
-- Name: job_events_transition_at_idx; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX job_events_transition_at_idx ON public.job_events USING btree (at) INCLUDE (from_state, to_state, seconds_in_from_state) WHERE (kind = 'transition'::text);

--
-- Name: jobs_correlation_idx; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX jobs_correlation_idx ON public.jobs USING btree (correlation_id);

--
-- Name: jobs_document_idx; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX jobs_document_idx ON public.jobs USING btree (document_id);

--
-- Name: jobs_state_idx; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX jobs_state_idx ON public.jobs USING btree (state, state_changed_at);

--
-- Name: webhook_attempts_at_idx; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX webhook_attempts_at_idx ON public.webhook_attempts USING btree (at);

--
-- Name: webhook_attempts_message_idx; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX webhook_attempts_message_idx ON public.webhook_attempts USING btree (message_id, id);

--
-- Name: webhook_deliveries_job_idx; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX webhook_deliveries_job_idx ON public.webhook_deliveries USING btree (job_id, received_at);

--
-- Name: webhook_deliveries_received_at_idx; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX webhook_deliveries_received_at_idx ON public.webhook_deliveries USING btree (received_at);

--
-- Name: webhook_events_created_idx; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX webhook_events_created_idx ON public.webhook_events USING btree (created_at);

--
-- Name: webhook_messages_event_idx; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX webhook_messages_event_idx ON public.webhook_messages USING btree (event_id);

--
-- Name: webhook_messages_line_idx; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX webhook_messages_line_idx ON public.webhook_messages USING btree (subscription_id, line, event_id) WHERE (status = 'pending'::text);

--
-- Name: webhook_refusal_counts_minute_idx; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX webhook_refusal_counts_minute_idx ON public.webhook_refusal_counts USING btree (minute);

--
-- Name: webhook_refusal_log_at_idx; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX webhook_refusal_log_at_idx ON public.webhook_refusal_log USING btree (at);

--
-- Name: webhook_subscription_jobs_subscription_idx; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX webhook_subscription_jobs_subscription_idx ON public.webhook_subscription_jobs USING btree (subscription_id);

--
-- Name: budget_reservations budget_reservations_job_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.budget_reservations
    ADD CONSTRAINT budget_reservations_job_id_fkey FOREIGN KEY (job_id) REFERENCES public.jobs(id) ON DELETE RESTRICT;

--
-- Name: chunks chunks_job_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.chunks
    ADD CONSTRAINT chunks_job_id_fkey FOREIGN KEY (job_id) REFERENCES public.jobs(id) ON DELETE RESTRICT;

--
-- Name: circuit_breaker_probes circuit_breaker_probes_service_fkey; Type: FK CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.circuit_breaker_probes
    ADD CONSTRAINT circuit_breaker_probes_service_fkey FOREIGN KEY (service) REFERENCES public.circuit_breakers(service) ON DELETE CASCADE;

--
-- Name: cost_ledger cost_ledger_job_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.cost_ledger
    ADD CONSTRAINT cost_ledger_job_id_fkey FOREIGN KEY (job_id) REFERENCES public.jobs(id) ON DELETE RESTRICT;

--
-- Name: cost_ledger cost_ledger_reservation_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.cost_ledger
    ADD CONSTRAINT cost_ledger_reservation_id_fkey FOREIGN KEY (reservation_id) REFERENCES public.budget_reservations(id) ON DELETE RESTRICT;

--
-- Name: job_events job_events_job_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.job_events
    ADD CONSTRAINT job_events_job_id_fkey FOREIGN KEY (job_id) REFERENCES public.jobs(id) ON DELETE RESTRICT;

--
-- Name: jobs jobs_document_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.jobs
    ADD CONSTRAINT jobs_document_id_fkey FOREIGN KEY (document_id) REFERENCES public.documents(id) ON DELETE RESTRICT;

--
-- Name: jobs jobs_parse_result_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.jobs
    ADD CONSTRAINT jobs_parse_result_id_fkey FOREIGN KEY (parse_result_id) REFERENCES public.parse_results(id) ON DELETE RESTRICT;

--
-- Name: parse_results parse_results_document_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.parse_results
    ADD CONSTRAINT parse_results_document_id_fkey FOREIGN KEY (document_id) REFERENCES public.documents(id) ON DELETE RESTRICT;

--
-- Name: parsed_pages parsed_pages_parse_result_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.parsed_pages
    ADD CONSTRAINT parsed_pages_parse_result_id_fkey FOREIGN KEY (parse_result_id) REFERENCES public.parse_results(id) ON DELETE CASCADE;

--
-- Name: pipeline_stage_tasks pipeline_stage_tasks_stage_fkey; Type: FK CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.pipeline_stage_tasks
    ADD CONSTRAINT pipeline_stage_tasks_stage_fkey FOREIGN KEY (stage) REFERENCES public.pipeline_stages(stage) ON DELETE CASCADE;

--
-- Name: stage_leases stage_leases_job_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.stage_leases
    ADD CONSTRAINT stage_leases_job_id_fkey FOREIGN KEY (job_id) REFERENCES public.jobs(id) ON DELETE CASCADE;

--
-- Name: stage_leases stage_leases_stage_fkey; Type: FK CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.stage_leases
    ADD CONSTRAINT stage_leases_stage_fkey FOREIGN KEY (stage) REFERENCES public.pipeline_stages(stage) ON DELETE CASCADE;

--
-- Name: webhook_attempts webhook_attempts_message_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.webhook_attempts
    ADD CONSTRAINT webhook_attempts_message_id_fkey FOREIGN KEY (message_id) REFERENCES public.webhook_messages(id) ON DELETE CASCADE;

--
-- Name: webhook_deliveries webhook_deliveries_job_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_job_id_fkey FOREIGN KEY (job_id) REFERENCES public.jobs(id) ON DELETE RESTRICT;

--
-- Name: webhook_events webhook_events_job_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.webhook_events
    ADD CONSTRAINT webhook_events_job_id_fkey FOREIGN KEY (job_id) REFERENCES public.jobs(id) ON DELETE CASCADE;

--
-- Name: webhook_events webhook_events_type_fkey; Type: FK CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.webhook_events
    ADD CONSTRAINT webhook_events_type_fkey FOREIGN KEY (type) REFERENCES public.webhook_event_types(type) ON DELETE RESTRICT;

--
-- Name: webhook_messages webhook_messages_event_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.webhook_messages
    ADD CONSTRAINT webhook_messages_event_id_fkey FOREIGN KEY (event_id) REFERENCES public.webhook_events(id) ON DELETE CASCADE;

--
-- Name: webhook_messages webhook_messages_subscription_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.webhook_messages
    ADD CONSTRAINT webhook_messages_subscription_id_fkey FOREIGN KEY (subscription_id) REFERENCES public.webhook_subscriptions(id) ON DELETE CASCADE;

--
-- Name: webhook_subscription_jobs webhook_subscription_jobs_job_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.webhook_subscription_jobs
    ADD CONSTRAINT webhook_subscription_jobs_job_id_fkey FOREIGN KEY (job_id) REFERENCES public.jobs(id) ON DELETE CASCADE;

--
-- Name: webhook_subscription_jobs webhook_subscription_jobs_subscription_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.webhook_subscription_jobs
    ADD CONSTRAINT webhook_subscription_jobs_subscription_id_fkey FOREIGN KEY (subscription_id) REFERENCES public.webhook_subscriptions(id) ON DELETE CASCADE;

--
--
