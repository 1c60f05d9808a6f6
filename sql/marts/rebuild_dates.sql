-- Which dirty dates a build rewrites whole and which item by item (pipelines/warehouse/star.py;
-- sql/marts/rebuild_items.sql has the rest). A dirty date that holds no facts yet (a new day) is
-- rebuilt whole: tmp_whole_dates; the others are tmp_partial_dates, where changed_items.sql
-- lists the changed items, one date at a time, in tmp_changed_items.

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

create temporary table tmp_changed_items (source text, item_id text);
