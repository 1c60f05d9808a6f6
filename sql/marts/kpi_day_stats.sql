-- grain: one row per (feedback_date, segment_type, segment_value, stat) for the feedback dates
-- :min_date .. :max_date: the additive sufficient statistics (n, counts k1..k5, sums s1, s2) of
-- the rows the tmp_stat_* views name (stat_rows_all.sql: every fact and tag of those dates;
-- stat_rows_rewritten.sql: those of the items a build rewrites), which kpi_inputs.sql sums over
-- each window and pipelines/kpis/stats.py turns into every metric and interval of KPIS.md. Written
-- into tmp_day_stats, which pipelines/kpis/day_stats.py stores or moves the stored rows by.
-- s1 and s2 are exact decimals: a float sum depends on the order the engine adds rows in (parallel
-- aggregation), so reruns over the same facts gave intervals differing in the last bit; exact sums
-- also let a build move a date's statistics by the rewritten items' instead of computing them again.
-- A range, not a list of dates: a list as a subquery made DuckDB hold every observation of a
-- large day (+360 MB); the caller passes each run of consecutive dirty dates.
-- obs is read twice (cells, themes) and streamed each time, never held: materialised, a large
-- day's million observations were the query's largest cost in memory.
create temporary table tmp_day_stats as
with obs as not materialized (
    select feedback_id, feedback_date, source, 'survey' as family, product, location, journey_stage, touchpoint,
        'nps' as stat, 1 as n,
        case when nps >= 9 then 1 else 0 end as k1, case when nps <= 6 then 1 else 0 end as k2,
        0 as k3, 0 as k4, 0 as k5, cast(nps as decimal(38, 12)) as s1, cast(nps * nps as decimal(38, 12)) as s2
    from tmp_stat_survey
    where nps is not null and feedback_date between :min_date and :max_date
    union all
    select feedback_id, feedback_date, source, 'survey', product, location, journey_stage, touchpoint,
        'csat', 1, case when csat >= 4 then 1 else 0 end, 0, 0, 0, 0, cast(csat as decimal(38, 12)), cast(csat * csat as decimal(38, 12))
    from tmp_stat_survey
    where csat is not null and feedback_date between :min_date and :max_date
    union all
    select feedback_id, feedback_date, source, 'survey', product, location, journey_stage, touchpoint,
        'ces', 1, case when ces >= 5 then 1 else 0 end, 0, 0, 0, 0, cast(ces as decimal(38, 12)), cast(ces * ces as decimal(38, 12))
    from tmp_stat_survey
    where ces is not null and feedback_date between :min_date and :max_date
    union all
    select feedback_id, feedback_date, source, 'survey', product, location, journey_stage, touchpoint,
        'response', 1, 0, 0, 0, 0, 0, cast(0 as decimal(38, 12)), cast(0 as decimal(38, 12))
    from tmp_stat_survey
    where feedback_date between :min_date and :max_date
    union all
    select feedback_id, feedback_date, source, 'review', product, location, null, null,
        'review', 1, case when is_replied then 1 else 0 end, 0, 0, 0, 0, cast(0 as decimal(38, 12)),
        cast(0 as decimal(38, 12))
    from tmp_stat_review
    where feedback_date between :min_date and :max_date
    union all
    select feedback_id, feedback_date, source, 'review', product, location, null, null,
        'rating', 1,
        case when round(rating) = 1 then 1 else 0 end, case when round(rating) = 2 then 1 else 0 end,
        case when round(rating) = 3 then 1 else 0 end, case when round(rating) = 4 then 1 else 0 end,
        case when round(rating) = 5 then 1 else 0 end, cast(rating as decimal(38, 12)), cast(rating * rating as decimal(38, 12))
    from tmp_stat_review
    where rating is not null and feedback_date between :min_date and :max_date
    union all
    select feedback_id, feedback_date, source, 'mention', null, null, null, null,
        'mention', 1, 0, 0, 0, 0, 0, cast(0 as decimal(38, 12)), cast(0 as decimal(38, 12))
    from tmp_stat_mention
    where feedback_date between :min_date and :max_date
    union all
    select feedback_id, feedback_date, source, 'mention', null, null, null, null,
        'voice', case when names_brand then 1 else 0 end + case when names_competitor then 1 else 0 end,
        case when names_brand then 1 else 0 end, 0, 0, 0, 0, cast(0 as decimal(38, 12)), cast(0 as decimal(38, 12))
    from tmp_stat_mention
    where (names_brand or names_competitor) and feedback_date between :min_date and :max_date
    union all
    select feedback_id, feedback_date, source, family, product, location, journey_stage, touchpoint,
        'sentiment', 1,
        case when sentiment_label = 'positive' then 1 else 0 end,
        case when sentiment_label = 'negative' then 1 else 0 end,
        0, 0, 0, cast(sentiment_score as decimal(38, 12)), cast(sentiment_score * sentiment_score as decimal(38, 12))
    from tmp_stat_feedback
    where sentiment_label is not null and feedback_date between :min_date and :max_date
),
-- journey stage and touchpoint: the survey's own fields, else the theme hints on fct_feedback.
-- An item's fct_feedback and feedback_theme rows carry its own date: bounding their dates lets
-- the scans skip the rest of the history instead of hashing every stored item.
enriched as (
    select o.feedback_date, o.source, o.family, o.product, o.location,
        coalesce(o.journey_stage, f.journey_stage) as journey_stage,
        coalesce(o.touchpoint, f.touchpoint) as touchpoint, f.pyramid_level,
        o.stat, o.n, o.k1, o.k2, o.k3, o.k4, o.k5, o.s1, o.s2
    from obs as o
    left join tmp_stat_feedback as f
        on f.feedback_id = o.feedback_id and f.feedback_date between :min_date and :max_date
),
-- the statistics summed per combination of segment values first: the segments below read these
-- few cells instead of every observation again; the sums are exact, so summing them again
-- changes nothing
cells as (
    select feedback_date, source, family, product, location, journey_stage, touchpoint, pyramid_level, stat,
        sum(n) as n, sum(k1) as k1, sum(k2) as k2, sum(k3) as k3, sum(k4) as k4, sum(k5) as k5,
        sum(s1) as s1, sum(s2) as s2
    from enriched
    group by feedback_date, source, family, product, location, journey_stage, touchpoint, pyramid_level, stat
),
segmented as (
    select feedback_date, 'all' as segment_type, 'all' as segment_value, stat, n, k1, k2, k3, k4, k5, s1, s2 from cells
    union all
    select feedback_date, 'source', source, stat, n, k1, k2, k3, k4, k5, s1, s2 from cells
    union all
    select feedback_date, 'family', family, stat, n, k1, k2, k3, k4, k5, s1, s2 from cells
    union all
    select feedback_date, 'product', product, stat, n, k1, k2, k3, k4, k5, s1, s2 from cells where product is not null
    union all
    select feedback_date, 'location', location, stat, n, k1, k2, k3, k4, k5, s1, s2 from cells where location is not null
    union all
    select feedback_date, 'journey_stage', journey_stage, stat, n, k1, k2, k3, k4, k5, s1, s2 from cells where journey_stage is not null
    union all
    select feedback_date, 'touchpoint', touchpoint, stat, n, k1, k2, k3, k4, k5, s1, s2 from cells where touchpoint is not null
    union all
    select feedback_date, 'pyramid_level', pyramid_level, stat, n, k1, k2, k3, k4, k5, s1, s2
    from cells where pyramid_level is not null
    union all
    -- themes are per item: an item counts once under each of its themes
    select o.feedback_date, 'theme', t.theme, o.stat, o.n, o.k1, o.k2, o.k3, o.k4, o.k5, o.s1, o.s2
    from obs as o
    join tmp_stat_theme as t
        on t.feedback_id = o.feedback_id and t.feedback_date between :min_date and :max_date
),
daily as (
    select feedback_date, segment_type, segment_value, stat,
        sum(n) as n, sum(k1) as k1, sum(k2) as k2, sum(k3) as k3, sum(k4) as k4, sum(k5) as k5,
        sum(s1) as s1, sum(s2) as s2
    from segmented
    group by feedback_date, segment_type, segment_value, stat
)
select * from daily;
