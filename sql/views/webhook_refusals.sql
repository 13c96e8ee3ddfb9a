-- Refusals of the last 24 hours by reason, from the counts (all of them, stored or not).
--
-- What the migrations that defined it earlier said (still true unless said otherwise above):
-- (000004)
-- Refusals of the last 24 hours by reason, for psql and the metrics endpoint.
create or replace view webhook_refusals as
select reason, http_status, sum(refusals)::int as refusals, max(last_at) as last_at,
       count(distinct source)::int as sources
from webhook_refusal_counts
where minute > now() - interval '24 hours'
group by reason, http_status
order by refusals desc;
