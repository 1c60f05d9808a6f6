-- The rows the day statistics read (kpi_day_stats.sql, impact_day_cells.sql) when a build moves
-- the stored statistics of dates built before (tmp_moved_dates) by the items it rewrites there
-- (tmp_rewrite, rebuild_items.sql): those items' facts and tags, read once before they are
-- rewritten and once after (pipelines/kpis/day_stats.py).
create temporary view tmp_stat_survey as
select * from marts.fct_survey_response
where feedback_date in (select feedback_date from tmp_moved_dates)
    and feedback_id in (select feedback_id from tmp_rewrite);

create temporary view tmp_stat_review as
select * from marts.fct_review
where feedback_date in (select feedback_date from tmp_moved_dates)
    and feedback_id in (select feedback_id from tmp_rewrite);

create temporary view tmp_stat_mention as
select * from marts.fct_mention
where feedback_date in (select feedback_date from tmp_moved_dates)
    and feedback_id in (select feedback_id from tmp_rewrite);

create temporary view tmp_stat_feedback as
select * from marts.fct_feedback
where feedback_date in (select feedback_date from tmp_moved_dates)
    and feedback_id in (select feedback_id from tmp_rewrite);

create temporary view tmp_stat_theme as
select * from marts.feedback_theme
where feedback_date in (select feedback_date from tmp_moved_dates)
    and feedback_id in (select feedback_id from tmp_rewrite);
