-- grain: one row per (item, identifier) of the items on the dirty dates: the edges of the
-- identity graph pipelines/warehouse/identity.py resolves into customers. e-mail and customer id
-- link across sources; an author handle only within its own source (display names collide).
with dirty as (
    select feedback_date from ops.dirty_dates
),
reviews as (
    select source || ':' || review_id as feedback_id, email_hash, customer_id_hash,
        source || ':' || author_hash as author
    from staging.stg_review where feedback_date in (select feedback_date from dirty)
),
mentions as (
    select source || ':' || mention_id, email_hash, customer_id_hash, source || ':' || author_hash
    from staging.stg_mention where feedback_date in (select feedback_date from dirty)
),
responses as (
    select source || ':' || response_id, email_hash, customer_id_hash, source || ':' || respondent_hash
    from staging.stg_survey_response where feedback_date in (select feedback_date from dirty)
),
items as (
    select * from reviews
    union all
    select * from mentions
    union all
    select * from responses
),
final as (
    select feedback_id, 'email' as identity_kind, 'email:' || email_hash as identity
    from items where email_hash is not null
    union all
    select feedback_id, 'customer_id', 'customer_id:' || customer_id_hash
    from items where customer_id_hash is not null
    union all
    select feedback_id, 'author', 'author:' || author
    from items where author is not null
)
select feedback_id, identity_kind, identity from final
order by feedback_id, identity;
