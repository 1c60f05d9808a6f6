-- Version 16: the KPI stage keeps, per feedback date, what its windows add up, and rebuilds only the
-- dates that changed. kpi_daily and theme_impact used to re-read every fact of 28 days before each
-- recomputed kpi date: a build after late items and edits (which keep about 15 dates dirty) read six
-- weeks of a mid-size brand's facts. Now a dirty date's statistics are written once
-- (sql/marts/kpi_day_stats.sql, sql/marts/impact_day_cells.sql) and the windows sum these few rows.
-- No primary keys: every build deletes a date's rows before writing them again (DuckDB's indexes
-- would slow both).

-- grain: one row per (feedback_date, segment_type, segment_value, stat): the additive sufficient
-- statistics of kpi_inputs.sql for one day (n, counts k1..k5, exact sums s1, s2)
create table if not exists marts.kpi_day_stats (
    feedback_date date not null,
    segment_type  text not null,
    segment_value text not null,
    stat          text not null,
    n             bigint not null,
    k1            bigint not null,
    k2            bigint not null,
    k3            bigint not null,
    k4            bigint not null,
    k5            bigint not null,
    s1            decimal(38, 12),  -- null where a summed score is (a labelled item without a score)
    s2            decimal(38, 12)
);

-- grain: one row per (feedback_date, metric, score): how many items scored it (NPS responses as
-- +100/0/-100, reviews by stars), the denominators of theme impact
create table if not exists marts.impact_day_scores (
    feedback_date date not null,
    metric        text not null check (metric in ('nps', 'avg_rating')),
    score         double precision not null,
    items         bigint not null
);

-- grain: one row per (feedback_date, metric, theme, score): how many of those items name the theme
create table if not exists marts.impact_day_theme_scores (
    feedback_date date not null,
    metric        text not null check (metric in ('nps', 'avg_rating')),
    theme         text not null,
    score         double precision not null,
    items         bigint not null
);

-- every stored date is rebuilt once by the next run, which writes its statistics
insert into ops.dirty_dates (feedback_date)
select feedback_date from staging.stg_review
union select feedback_date from staging.stg_mention
union select feedback_date from staging.stg_survey_response
except select feedback_date from ops.dirty_dates;
