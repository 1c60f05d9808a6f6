-- grain: one row per (kpi_date, window_days, segment_type, segment_value): the median reply
-- time of replied reviews in the window. Medians do not add up across days, so this reads rows.
with replied as (
    select r.feedback_id, r.feedback_date, r.source, r.product, r.location, f.journey_stage, f.touchpoint,
        f.pyramid_level, r.reply_hours
    from marts.fct_review as r
    left join marts.fct_feedback as f  -- an item's rows share its date: the scan skips the rest of the history
        on f.feedback_id = r.feedback_id and f.feedback_date between :min_date and :max_date
    where r.reply_hours is not null and r.feedback_date between :min_date and :max_date
),
segmented as (
    select feedback_date, 'all' as segment_type, 'all' as segment_value, reply_hours from replied
    union all
    select feedback_date, 'source', source, reply_hours from replied
    union all
    select feedback_date, 'family', 'review', reply_hours from replied
    union all
    select feedback_date, 'product', product, reply_hours from replied where product is not null
    union all
    select feedback_date, 'location', location, reply_hours from replied where location is not null
    union all
    select feedback_date, 'journey_stage', journey_stage, reply_hours from replied where journey_stage is not null
    union all
    select feedback_date, 'touchpoint', touchpoint, reply_hours from replied where touchpoint is not null
    union all
    select feedback_date, 'pyramid_level', pyramid_level, reply_hours from replied where pyramid_level is not null
    union all
    select r.feedback_date, 'theme', t.theme, r.reply_hours
    from replied as r
    join marts.feedback_theme as t
        on t.feedback_id = r.feedback_id and t.feedback_date between :min_date and :max_date
),
windows as (
    select 1 as window_days union all select 7 union all select 28
),
final as (
    select
        k.kpi_date, w.window_days, s.segment_type, s.segment_value,
        percentile_cont(0.5) within group (order by s.reply_hours) as value,
        count(*) as n
    from tmp_kpi_dates as k
    cross join windows as w
    join segmented as s
        on s.feedback_date between k.kpi_date - (w.window_days - 1) and k.kpi_date
    group by k.kpi_date, w.window_days, s.segment_type, s.segment_value
)
select * from final
order by kpi_date, window_days, segment_type, segment_value;
