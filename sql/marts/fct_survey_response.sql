-- grain: one row per survey response; rebuilt for the dirty dates only
delete from marts.fct_survey_response where feedback_date in (select feedback_date from ops.dirty_dates);

insert into marts.fct_survey_response (
    feedback_id, source, response_id, occurred_at, feedback_date, respondent_hash, nps, csat, ces,
    journey_stage, touchpoint, product, location, channel, sentiment_score, sentiment_label
)
with responses as (
    select * from staging.stg_survey_response
    where feedback_date in (select feedback_date from ops.dirty_dates)
),
final as (
    select
        source || ':' || response_id as feedback_id,
        source,
        response_id,
        submitted_at as occurred_at,
        feedback_date,
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
    from responses
)
select * from final;
