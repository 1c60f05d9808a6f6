-- The customers whose interactions the rewritten facts changed (added, removed, rescored,
-- re-dated or moved to another customer; interactions_before.sql kept them as they were), and those
-- a new link merged (tmp_identity_merged, identity_resolve.sql: the merged customer's facts on
-- every date now name the survivor): customers_at_risk.sql rewrites only these customers' spans. A
-- late item or an edit changes a few customers of a date; its tens of thousands of others stay as
-- stored.
create temporary table tmp_changed_customers as
with after_build as (
    select * from tmp_dirty_interactions
),
changed as (
    (select * from tmp_interactions_before except select * from after_build)
    union all
    (select * from after_build except select * from tmp_interactions_before)
)
select customer_hash from changed
union
select customer_key from tmp_identity_merged
union
select survivor from tmp_identity_merged;

drop table tmp_interactions_before;
drop view tmp_dirty_interactions;
drop view tmp_interactions;
