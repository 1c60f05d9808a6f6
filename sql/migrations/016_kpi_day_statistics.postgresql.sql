-- Version 16, PostgreSQL only (see 016_kpi_day_statistics.sql): the day statistics are deleted and
-- read by date ranges, which an index answers without scanning the history.
create index if not exists kpi_day_stats_date on marts.kpi_day_stats (feedback_date);
create index if not exists impact_day_scores_date on marts.impact_day_scores (feedback_date);
create index if not exists impact_day_theme_scores_date on marts.impact_day_theme_scores (feedback_date);
