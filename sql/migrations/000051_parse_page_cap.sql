-- Up Migration

-- The page cap a LlamaParse upload carried (page_ranges.max_pages = pages reserved) and whether the
-- page count behind it was exact: the collector fails a job whose estimated count LlamaParse filled
-- (pages may lie beyond the cap) instead of dropping them silently.
alter table jobs
  add column parse_max_pages int check (parse_max_pages > 0),
  add column parse_pages_exact boolean;
