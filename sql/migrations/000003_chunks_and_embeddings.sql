-- Up Migration

-- Chunks of a job's parsed text, keyed by (job, ordinal): a chunk task re-run after a crash
-- writes the same keys and so no duplicates.
create table chunks (
  job_id uuid not null references jobs (id) on delete restrict,
  ordinal int not null check (ordinal >= 0),
  content text not null,
  content_sha256 bytea not null check (octet_length(content_sha256) = 32),
  token_count int not null check (token_count > 0),
  overlap_chars int not null default 0 check (overlap_chars >= 0),
  page_start int not null,
  page_end int not null check (page_end >= page_start),
  heading_path text[] not null default '{}',
  oversized boolean not null default false,
  primary key (job_id, ordinal)
);
create index chunks_content_sha256_idx on chunks (content_sha256);

-- Vectors by content, model and dimension: a chunk whose content was already embedded with the same
-- model is never sent again (and identical chunks share one row). real[] because pgvector is not
-- available on every machine; with pgvector, this column becomes vector(N) with an HNSW index.
create table embeddings (
  content_sha256 bytea not null check (octet_length(content_sha256) = 32),
  model text not null,
  dimensions int not null check (dimensions > 0),
  vector real[] not null check (cardinality(vector) = dimensions),
  created_at timestamptz not null default now(),
  primary key (content_sha256, model, dimensions)
);

alter table jobs
  add column chunking_settings jsonb,
  add column embedding_model text,
  add column embedding_dimensions int;

-- Cosine similarity of two L2-normalised vectors (their dot product).
create function dot_product(a real[], b real[]) returns double precision
language sql immutable strict parallel safe as $$
  select sum(x * y) from unnest(a, b) as t(x, y);
$$;
