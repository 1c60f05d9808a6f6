-- Store the day statistics computed for the feedback dates :min_date .. :max_date from all their
-- rows (kpi_day_stats.sql, impact_day_cells.sql over stat_rows_all.sql) in place of the stored ones.
delete from marts.kpi_day_stats where feedback_date between :min_date and :max_date;

insert into marts.kpi_day_stats (feedback_date, segment_type, segment_value, stat, n, k1, k2, k3, k4, k5, s1, s2)
select feedback_date, segment_type, segment_value, stat, n, k1, k2, k3, k4, k5, s1, s2 from tmp_day_stats;

delete from marts.impact_day_scores where feedback_date between :min_date and :max_date;

insert into marts.impact_day_scores (feedback_date, metric, score, items)
select feedback_date, metric, score, items from tmp_impact_scores;

delete from marts.impact_day_theme_scores where feedback_date between :min_date and :max_date;

insert into marts.impact_day_theme_scores (feedback_date, metric, theme, score, items)
select feedback_date, metric, theme, score, items from tmp_impact_theme_scores;

drop table tmp_day_stats;

drop table tmp_impact_scores;

drop table tmp_impact_theme_scores;
