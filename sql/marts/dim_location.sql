-- grain: one row per location (see sql/migrations/003_star_schema.sql); adds the members the dirty dates name
insert into marts.dim_location (location)
with named as (
    select location from staging.stg_review
    where location is not null and feedback_date in (select feedback_date from ops.dirty_dates)
    union
    select location from staging.stg_survey_response
    where location is not null and feedback_date in (select feedback_date from ops.dirty_dates)
)
select distinct location from named
where location not in (select location from marts.dim_location);
