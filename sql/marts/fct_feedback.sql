-- grain: one row per text-bearing item of any family; rebuilt for the dirty dates only
-- (customer keys: tmp_item_customer, from pipelines/warehouse/identity.py)
delete from marts.fct_feedback where feedback_date in (select feedback_date from ops.dirty_dates);

insert into marts.fct_feedback (
    feedback_id, family, source, occurred_at, feedback_date, text, sentiment_score,
    sentiment_label, rating, nps, csat, ces, product, location, journey_stage, touchpoint,
    pyramid_level, url, customer_hash, customer_key
)
with dirty as (
    select feedback_date from ops.dirty_dates
),
reviews as (
    select
        source || ':' || review_id as feedback_id, 'review' as family, source,
        created_at as occurred_at, feedback_date, text, sentiment_score, sentiment_label,
        rating, cast(null as double precision) as nps, cast(null as double precision) as csat,
        cast(null as double precision) as ces, product, location,
        cast(null as text) as journey_stage, cast(null as text) as touchpoint, url,
        author_hash as customer_hash
    from staging.stg_review
    where feedback_date in (select feedback_date from dirty) and text is not null
),
mentions as (
    select
        source || ':' || mention_id, 'mention', source, created_at, feedback_date, text,
        sentiment_score, sentiment_label, cast(null as double precision), cast(null as double precision),
        cast(null as double precision), cast(null as double precision), cast(null as text),
        cast(null as text), cast(null as text), cast(null as text), url, author_hash
    from staging.stg_mention
    where feedback_date in (select feedback_date from dirty) and text is not null
),
responses as (
    select
        source || ':' || response_id, 'survey', source, submitted_at, feedback_date, text,
        sentiment_score, sentiment_label, cast(null as double precision), nps, csat, ces, product,
        location, journey_stage, touchpoint, cast(null as text), respondent_hash
    from staging.stg_survey_response
    where feedback_date in (select feedback_date from dirty) and text is not null
),
final as (
    select * from reviews
    union all
    select * from mentions
    union all
    select * from responses
)
select
    f.feedback_id, family, source, occurred_at, feedback_date, text, sentiment_score,
    sentiment_label, rating, nps, csat, ces, product, location, journey_stage, touchpoint,
    cast(null as text) as pyramid_level, url, customer_hash, c.customer_key
from final as f
left join tmp_item_customer as c on c.feedback_id = f.feedback_id;
