-- grain: one row per (kpi_date, window_days, segment_type, segment_value, stat) for the kpi
-- dates in tmp_kpi_dates: the day statistics of marts.kpi_day_stats (kpi_day_stats.sql) summed
-- over each window, from which pipelines/kpis/stats.py computes every metric and interval of
-- KPIS.md. The sums are exact decimals, so a window summed from days equals one summed from items.
with windows as (
    select 1 as window_days union all select 7 union all select 28
),
final as (
    select
        k.kpi_date, w.window_days, d.segment_type, d.segment_value, d.stat,
        sum(d.n) as n, sum(d.k1) as k1, sum(d.k2) as k2, sum(d.k3) as k3, sum(d.k4) as k4,
        sum(d.k5) as k5, sum(d.s1) as s1, sum(d.s2) as s2
    from tmp_kpi_dates as k
    cross join windows as w
    join marts.kpi_day_stats as d
        on d.feedback_date between k.kpi_date - (w.window_days - 1) and k.kpi_date
    where d.feedback_date between :min_date and :max_date
    group by k.kpi_date, w.window_days, d.segment_type, d.segment_value, d.stat
)
select * from final
where n > 0
order by kpi_date, window_days, segment_type, segment_value, stat;
