-- Which items of the dirty dates a build rewrites (pipelines/warehouse/star.py), once
-- rebuild_dates.sql and changed_items.sql have run: every item of tmp_whole_dates and, on the
-- other dirty dates, the changed items: tmp_rewrite.
-- tmp_rebuilt_reviews, tmp_rebuilt_mentions and tmp_rebuilt_responses are the staged rows of both,
-- which identity resolution, tagging and the facts read; the two branches of each are disjoint.

-- grain: one row per item to rewrite on a partial date; filled one date at a time by
-- changed_items.sql, then made distinct (an item moved between two such dates is listed by both)
create temporary table tmp_rewrite as
select distinct source, item_id, source || ':' || item_id as feedback_id from tmp_changed_items;

drop table tmp_changed_items;

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
