-- The interactions (interactions.sql) of the items a build rewrites (rebuild_items.sql: every item
-- of a date rebuilt whole, the changed items of the others) as stored before
-- pipelines/warehouse/star.py rewrites their facts, with a digest of the verbatim and link a row
-- at risk shows; changed_customers.sql compares the rewritten ones with them. The facts a build
-- keeps keep their interactions, so no other customer's can change.
create temporary view tmp_dirty_interactions as
with shown as (
    select feedback_id, md5(coalesce(text, '') || ' ' || coalesce(url, '')) as digest
    from marts.fct_feedback
    where feedback_date in (select feedback_date from tmp_whole_dates)
        or (feedback_date in (select feedback_date from tmp_partial_dates)
            and feedback_id in (select feedback_id from tmp_rewrite))
)
select i.customer_hash, i.feedback_id, i.occurred_at, i.feedback_date, i.reason, s.digest
from tmp_interactions as i
left join shown as s on s.feedback_id = i.feedback_id
where i.feedback_date in (select feedback_date from tmp_whole_dates)
    or (i.feedback_date in (select feedback_date from tmp_partial_dates)
        and i.feedback_id in (select feedback_id from tmp_rewrite));

create temporary table tmp_interactions_before as
select * from tmp_dirty_interactions;
