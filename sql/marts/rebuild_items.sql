-- Which items of the dirty dates a build rewrites (pipelines/warehouse/star.py). A dirty date
-- that holds no facts yet (a new day) is rebuilt whole: tmp_whole_dates. On the others, only the
-- items whose staged version (`_load_id`) differs from the one their fact was built from, or that
-- are staged or stored on one side only (new, deleted, or moved to another date): tmp_rewrite.
-- tmp_rebuilt_reviews, tmp_rebuilt_mentions and tmp_rebuilt_responses are the staged rows of both,
-- which identity resolution, tagging and the facts read; the two branches of each are disjoint.

create temporary table tmp_whole_dates as
with dirty as (
    select feedback_date from ops.dirty_dates
),
stored as (
    select feedback_date from marts.fct_review where feedback_date in (select feedback_date from dirty)
    union
    select feedback_date from marts.fct_mention where feedback_date in (select feedback_date from dirty)
    union
    select feedback_date from marts.fct_survey_response where feedback_date in (select feedback_date from dirty)
)
select feedback_date from dirty
except
select feedback_date from stored;

create temporary table tmp_partial_dates as
select feedback_date from ops.dirty_dates
except
select feedback_date from tmp_whole_dates;

-- grain: one row per item to rewrite on a partial date
create temporary table tmp_rewrite as
with partial as (
    select feedback_date from tmp_partial_dates
),
staged as (
    select source, review_id as item_id, _load_id as load_id
    from staging.stg_review where feedback_date in (select feedback_date from partial)
    union all
    select source, mention_id, _load_id
    from staging.stg_mention where feedback_date in (select feedback_date from partial)
    union all
    select source, response_id, _load_id
    from staging.stg_survey_response where feedback_date in (select feedback_date from partial)
),
stored as (
    select source, review_id as item_id, load_id
    from marts.fct_review where feedback_date in (select feedback_date from partial)
    union all
    select source, mention_id, load_id
    from marts.fct_mention where feedback_date in (select feedback_date from partial)
    union all
    select source, response_id, load_id
    from marts.fct_survey_response where feedback_date in (select feedback_date from partial)
),
changed as (
    (select * from staged except select * from stored)
    union all
    (select * from stored except select * from staged)
)
select distinct source, item_id, source || ':' || item_id as feedback_id from changed;

create temporary view tmp_rebuilt_reviews as
select * from staging.stg_review
where feedback_date in (select feedback_date from tmp_whole_dates)
union all
select r.* from staging.stg_review as r
join tmp_rewrite as w on w.source = r.source and w.item_id = r.review_id
where r.feedback_date in (select feedback_date from tmp_partial_dates);

create temporary view tmp_rebuilt_mentions as
select * from staging.stg_mention
where feedback_date in (select feedback_date from tmp_whole_dates)
union all
select m.* from staging.stg_mention as m
join tmp_rewrite as w on w.source = m.source and w.item_id = m.mention_id
where m.feedback_date in (select feedback_date from tmp_partial_dates);

create temporary view tmp_rebuilt_responses as
select * from staging.stg_survey_response
where feedback_date in (select feedback_date from tmp_whole_dates)
union all
select r.* from staging.stg_survey_response as r
join tmp_rewrite as w on w.source = r.source and w.item_id = r.response_id
where r.feedback_date in (select feedback_date from tmp_partial_dates);
