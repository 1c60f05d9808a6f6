-- The customers whose interactions the rewritten facts changed (added, removed, rescored or
-- re-dated; interactions_before.sql kept them as they were): customers_at_risk.sql rewrites only
-- these customers' spans. A late item or an edit changes a few customers of a date; its tens of
-- thousands of others stay as stored.
create temporary table tmp_changed_customers as
with after_build as (
    select * from tmp_dirty_interactions
),
changed as (
    (select * from tmp_interactions_before except select * from after_build)
    union all
    (select * from after_build except select * from tmp_interactions_before)
)
select distinct customer_hash from changed;

drop table tmp_interactions_before;
drop view tmp_dirty_interactions;
drop view tmp_interactions;
