-- The rows the day statistics read (kpi_day_stats.sql, impact_day_cells.sql, which bound their
-- dates): every fact and tag.
create temporary view tmp_stat_survey as select * from marts.fct_survey_response;

create temporary view tmp_stat_review as select * from marts.fct_review;

create temporary view tmp_stat_mention as select * from marts.fct_mention;

create temporary view tmp_stat_feedback as select * from marts.fct_feedback;

create temporary view tmp_stat_theme as select * from marts.feedback_theme;
