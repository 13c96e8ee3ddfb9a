-- Up Migration

-- A new document's bytes on their way in, 256 KB per row, written and assembled into
-- documents.content inside the intake transaction (so no process holds a whole file in memory).
-- Rows never outlive that transaction; unlogged: they need no WAL, a crash loses nothing committed.
create unlogged table document_upload_parts (
  upload_id uuid not null,
  ordinal int not null check (ordinal >= 0),
  bytes bytea not null,
  primary key (upload_id, ordinal)
);
