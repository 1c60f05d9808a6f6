-- The day cells of theme impact for the feedback dates :min_date .. :max_date, of the rows the
-- tmp_stat_* views name (kpi_day_stats.sql): per date and metric, how many items gave each score
-- (tmp_impact_scores, stored in marts.impact_day_scores) and how many of them name each theme
-- (tmp_impact_theme_scores, stored in marts.impact_day_theme_scores). A theme's impact and its
-- bootstrap depend only on these counts (pipelines/kpis/analytics.py), and counts add up over the
-- days of a window.

-- grain: one row per scored item: an NPS response as +100 / 0 / -100, a review by its stars (a
-- table: read twice, and a few columns of the dirty dates' surveys and reviews only)
create temporary table tmp_impact_scored as
select feedback_id, feedback_date, 'nps' as metric,
    cast(case when nps >= 9 then 100 when nps <= 6 then -100 else 0 end as double precision) as score
from tmp_stat_survey
where nps is not null and feedback_date between :min_date and :max_date
union all
select feedback_id, feedback_date, 'avg_rating', cast(rating as double precision)
from tmp_stat_review
where rating is not null and feedback_date between :min_date and :max_date;

create temporary table tmp_impact_scores as
select feedback_date, metric, score, count(*) as items
from tmp_impact_scored
group by feedback_date, metric, score;

-- an item's tags carry its own date: bounding them lets the scan skip the rest of the history
create temporary table tmp_impact_theme_scores as
select s.feedback_date, s.metric, t.theme, s.score, count(*) as items
from tmp_impact_scored as s
join tmp_stat_theme as t
    on t.feedback_id = s.feedback_id and t.feedback_date between :min_date and :max_date
group by s.feedback_date, s.metric, t.theme, s.score;

drop table tmp_impact_scored;
