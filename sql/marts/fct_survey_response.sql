-- grain: one row per survey response; rebuilt for the dirty dates only (customer keys: tmp_item_customer)
delete from marts.fct_survey_response where feedback_date in (select feedback_date from ops.dirty_dates);

insert into marts.fct_survey_response (
    feedback_id, source, response_id, occurred_at, feedback_date, customer_key, respondent_hash, nps, csat, ces,
    journey_stage, touchpoint, product, location, channel, sentiment_score, sentiment_label
)
with responses as (
    select * from staging.stg_survey_response
    where feedback_date in (select feedback_date from ops.dirty_dates)
),
final as (
    select
        r.source || ':' || r.response_id as feedback_id,
        r.source,
        response_id,
        submitted_at as occurred_at,
        feedback_date,
        c.customer_key,
        respondent_hash,
        nps,
        csat,
        ces,
        journey_stage,
        touchpoint,
        product,
        location,
        channel,
        sentiment_score,
        sentiment_label
    from responses as r
    left join tmp_item_customer as c on c.feedback_id = r.source || ':' || r.response_id
)
select * from final;
