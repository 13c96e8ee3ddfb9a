-- Up Migration

-- Functions no caller uses any more. A fresh database never had them (the baseline holds no
-- functions); one migrated by release b303886 does. record_webhook_delivery: 000060 moved its
-- body into record_webhook_deliveries (the group-committed intake), which the server calls.
drop function if exists record_webhook_delivery(text, text, text, text, boolean, boolean, int);

-- What `tvdb migrate` last applied of sql/functions/ and sql/views/ (a digest of their text): a
-- process whose files differ knows the database is not current (/readyz says so) even when no
-- migration is pending.
create table applied_definitions (
  id int primary key check (id = 1),
  digest text not null,
  applied_at timestamptz not null
);
