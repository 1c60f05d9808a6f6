-- The dirty dates' interactions (interactions.sql) as stored before pipelines/warehouse/star.py
-- rebuilds their facts, with a digest of the verbatim and link a row at risk shows;
-- changed_customers.sql compares the rebuilt ones with them.
create temporary view tmp_dirty_interactions as
with dirty as (
    select feedback_date from ops.dirty_dates
),
shown as (
    select feedback_id, md5(coalesce(text, '') || ' ' || coalesce(url, '')) as digest
    from marts.fct_feedback
    where feedback_date in (select feedback_date from dirty)
)
select i.customer_hash, i.feedback_id, i.occurred_at, i.feedback_date, i.reason, s.digest
from tmp_interactions as i
left join shown as s on s.feedback_id = i.feedback_id
where i.feedback_date in (select feedback_date from dirty);

create temporary table tmp_interactions_before as
select * from tmp_dirty_interactions;
