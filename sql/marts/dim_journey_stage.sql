-- grain: one row per journey_stage (see sql/migrations/003_star_schema.sql); adds the members the dirty dates name
insert into marts.dim_journey_stage (journey_stage)
with named as (
    select journey_stage from staging.stg_survey_response
    where journey_stage is not null and feedback_date in (select feedback_date from ops.dirty_dates)
)
select distinct journey_stage from named
where journey_stage not in (select journey_stage from marts.dim_journey_stage);
