-- The interactions (interactions.sql) of the items a build rewrites (rebuild_items.sql: every item
-- of a date rebuilt whole, the changed items of the others) as stored before
-- pipelines/warehouse/star.py rewrites their facts; changed_customers.sql compares the rewritten
-- ones with them. The facts a build keeps keep their interactions, so no other customer's can
-- change. The verbatim and link are not compared: the view marts.customers_at_risk reads them
-- from fct_feedback, so a span at risk does not depend on them.
create temporary view tmp_dirty_interactions as
select customer_hash, source, feedback_id, occurred_at, feedback_date, reason
from tmp_interactions
where feedback_date in (select feedback_date from tmp_whole_dates)
    or (feedback_date in (select feedback_date from tmp_partial_dates)
        and feedback_id in (select feedback_id from tmp_rewrite));

create temporary table tmp_interactions_before as
select * from tmp_dirty_interactions;
