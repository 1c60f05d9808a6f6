-- The items to rewrite on one dirty date built before (one of tmp_partial_dates): those
-- whose staged version (`_load_id`) differs from the one their fact was built from, or that are
-- staged or stored on one side only (new, deleted, or moved to another date). One date a
-- statement: over a large brand's 17 such dates at once, the comparison held 2.9 GB of keys.
insert into tmp_changed_items (source, item_id)
with staged as (
    select source, review_id as item_id, _load_id as load_id
    from staging.stg_review where feedback_date = :day
    union all
    select source, mention_id, _load_id
    from staging.stg_mention where feedback_date = :day
    union all
    select source, response_id, _load_id
    from staging.stg_survey_response where feedback_date = :day
),
stored as (
    select source, review_id as item_id, load_id
    from marts.fct_review where feedback_date = :day
    union all
    select source, mention_id, load_id
    from marts.fct_mention where feedback_date = :day
    union all
    select source, response_id, load_id
    from marts.fct_survey_response where feedback_date = :day
),
changed as (
    (select * from staged except select * from stored)
    union all
    (select * from stored except select * from staged)
)
select source, item_id from changed;
