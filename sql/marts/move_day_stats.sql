-- Move the stored day statistics of tmp_moved_dates by the items a build rewrote there: minus
-- their statistics before (tmp_day_stats_before, ...) plus after (tmp_day_stats, ...), both
-- computed by kpi_day_stats.sql and impact_day_cells.sql over stat_rows_rewritten.sql. The counts
-- and exact sums of disjoint items add up, so each date ends with the rows a computation from all
-- its items gives; a cell whose items are all gone (n or items 0) has no row, as there. (Only a
-- cell left with sentiment labels but no scores would differ, s1 and s2 reading 0 instead of null;
-- labels come from the scores, so no load writes such an item.)
create temporary table tmp_moved_stats as
select feedback_date, segment_type, segment_value, stat,
    sum(n) as n, sum(k1) as k1, sum(k2) as k2, sum(k3) as k3, sum(k4) as k4, sum(k5) as k5,
    sum(s1) as s1, sum(s2) as s2
from (
    select feedback_date, segment_type, segment_value, stat, n, k1, k2, k3, k4, k5, s1, s2
    from marts.kpi_day_stats where feedback_date in (select feedback_date from tmp_moved_dates)
    union all
    select feedback_date, segment_type, segment_value, stat, n, k1, k2, k3, k4, k5, s1, s2 from tmp_day_stats
    union all
    select feedback_date, segment_type, segment_value, stat, -n, -k1, -k2, -k3, -k4, -k5, -s1, -s2
    from tmp_day_stats_before
) as moved
group by feedback_date, segment_type, segment_value, stat
having sum(n) <> 0;

delete from marts.kpi_day_stats where feedback_date in (select feedback_date from tmp_moved_dates);

insert into marts.kpi_day_stats (feedback_date, segment_type, segment_value, stat, n, k1, k2, k3, k4, k5, s1, s2)
select feedback_date, segment_type, segment_value, stat, n, k1, k2, k3, k4, k5, s1, s2 from tmp_moved_stats;

create temporary table tmp_moved_scores as
select feedback_date, metric, score, sum(items) as items
from (
    select feedback_date, metric, score, items
    from marts.impact_day_scores where feedback_date in (select feedback_date from tmp_moved_dates)
    union all
    select feedback_date, metric, score, items from tmp_impact_scores
    union all
    select feedback_date, metric, score, -items from tmp_impact_scores_before
) as moved
group by feedback_date, metric, score
having sum(items) <> 0;

delete from marts.impact_day_scores where feedback_date in (select feedback_date from tmp_moved_dates);

insert into marts.impact_day_scores (feedback_date, metric, score, items)
select feedback_date, metric, score, items from tmp_moved_scores;

create temporary table tmp_moved_theme_scores as
select feedback_date, metric, theme, score, sum(items) as items
from (
    select feedback_date, metric, theme, score, items
    from marts.impact_day_theme_scores where feedback_date in (select feedback_date from tmp_moved_dates)
    union all
    select feedback_date, metric, theme, score, items from tmp_impact_theme_scores
    union all
    select feedback_date, metric, theme, score, -items from tmp_impact_theme_scores_before
) as moved
group by feedback_date, metric, theme, score
having sum(items) <> 0;

delete from marts.impact_day_theme_scores where feedback_date in (select feedback_date from tmp_moved_dates);

insert into marts.impact_day_theme_scores (feedback_date, metric, theme, score, items)
select feedback_date, metric, theme, score, items from tmp_moved_theme_scores;

drop table tmp_moved_stats;

drop table tmp_moved_scores;

drop table tmp_moved_theme_scores;

drop table tmp_day_stats;

drop table tmp_impact_scores;

drop table tmp_impact_theme_scores;

drop table tmp_day_stats_before;

drop table tmp_impact_scores_before;

drop table tmp_impact_theme_scores_before;
