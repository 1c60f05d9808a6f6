-- grain: one row per calendar day that carries feedback; adds the dates being rebuilt
insert into marts.dim_date (date_day, year, quarter, month, iso_week, iso_dow, is_weekend)
with new_dates as (
    select feedback_date as date_day from ops.dirty_dates
    where feedback_date not in (select date_day from marts.dim_date)
),
final as (
    select
        date_day,
        cast(extract(year from date_day) as integer) as year,
        cast(extract(quarter from date_day) as integer) as quarter,
        cast(extract(month from date_day) as integer) as month,
        cast(extract(week from date_day) as integer) as iso_week,
        cast(extract(isodow from date_day) as integer) as iso_dow,
        extract(isodow from date_day) in (6, 7) as is_weekend
    from new_dates
)
select * from final;
