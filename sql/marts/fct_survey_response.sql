-- grain: one row per survey response, with the staged version (`_load_id`) it was built from;
-- rewritten for the items of sql/marts/rebuild_items.sql only (customer keys: tmp_item_customer)
delete from marts.fct_survey_response
where feedback_date in (select feedback_date from tmp_partial_dates)
    and feedback_id in (select feedback_id from tmp_rewrite);

insert into marts.fct_survey_response (
    feedback_id, source, response_id, occurred_at, feedback_date, customer_key, respondent_hash, nps, csat, ces,
    journey_stage, touchpoint, product, location, channel, sentiment_score, sentiment_label, load_id
)
with responses as (
    select * from tmp_rebuilt_responses
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
        sentiment_label,
        _load_id as load_id
    from responses as r
    left join tmp_item_customer as c on c.feedback_id = r.source || ':' || r.response_id
)
select * from final;
