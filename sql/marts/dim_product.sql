-- grain: one row per product (see sql/migrations/003_star_schema.sql); adds the members the dirty dates name
insert into marts.dim_product (product)
with named as (
    select product from staging.stg_review
    where product is not null and feedback_date in (select feedback_date from ops.dirty_dates)
    union
    select product from staging.stg_survey_response
    where product is not null and feedback_date in (select feedback_date from ops.dirty_dates)
)
select distinct product from named
where product not in (select product from marts.dim_product);
