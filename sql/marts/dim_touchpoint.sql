-- grain: one row per touchpoint (see sql/migrations/003_star_schema.sql); adds the members the dirty dates name
insert into marts.dim_touchpoint (touchpoint)
with named as (
    select touchpoint from staging.stg_survey_response
    where touchpoint is not null and feedback_date in (select feedback_date from ops.dirty_dates)
)
select distinct touchpoint from named
where touchpoint not in (select touchpoint from marts.dim_touchpoint);
