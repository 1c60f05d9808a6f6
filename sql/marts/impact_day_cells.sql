-- The day cells of theme impact for the feedback dates :min_date .. :max_date (consecutive dirty
-- dates): per date and metric, how many items gave each score (marts.impact_day_scores) and how
-- many of them name each theme (marts.impact_day_theme_scores). A theme's impact and its bootstrap
-- depend only on these counts (pipelines/kpis/analytics.py), and counts add up over the days of a
-- window.
delete from marts.impact_day_scores where feedback_date between :min_date and :max_date;

delete from marts.impact_day_theme_scores where feedback_date between :min_date and :max_date;

-- grain: one row per scored item: an NPS response as +100 / 0 / -100, a review by its stars (a
-- table: read twice, and a few columns of the dirty dates' surveys and reviews only)
create temporary table tmp_impact_scored as
select feedback_id, feedback_date, 'nps' as metric,
    cast(case when nps >= 9 then 100 when nps <= 6 then -100 else 0 end as double precision) as score
from marts.fct_survey_response
where nps is not null and feedback_date between :min_date and :max_date
union all
select feedback_id, feedback_date, 'avg_rating', cast(rating as double precision)
from marts.fct_review
where rating is not null and feedback_date between :min_date and :max_date;

insert into marts.impact_day_scores (feedback_date, metric, score, items)
select feedback_date, metric, score, count(*)
from tmp_impact_scored
group by feedback_date, metric, score;

-- an item's tags carry its own date: bounding them lets the scan skip the rest of the history
insert into marts.impact_day_theme_scores (feedback_date, metric, theme, score, items)
select s.feedback_date, s.metric, t.theme, s.score, count(*)
from tmp_impact_scored as s
join marts.feedback_theme as t
    on t.feedback_id = s.feedback_id and t.feedback_date between :min_date and :max_date
group by s.feedback_date, s.metric, t.theme, s.score;

drop table tmp_impact_scored;
