-- grain: one row per (kpi_date, window_days, segment_type, segment_value): the median reply
-- time of replied reviews in the window. Medians do not add up across days, so this reads rows.
with replied as (
    select feedback_date, source, product, location, reply_hours
    from marts.fct_review
    where reply_hours is not null and feedback_date between :min_date and :max_date
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
