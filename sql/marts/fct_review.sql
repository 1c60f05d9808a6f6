-- grain: one row per review (its latest version); rebuilt for the dirty dates only.
-- tmp_item_customer (feedback_id, customer_key) comes from pipelines/warehouse/identity.py.
delete from marts.fct_review where feedback_date in (select feedback_date from ops.dirty_dates);

insert into marts.fct_review (
    feedback_id, source, review_id, occurred_at, feedback_date, rating, product, location,
    customer_key, author_hash, is_replied, reply_hours, sentiment_score, sentiment_label
)
with reviews as (
    select * from staging.stg_review
    where feedback_date in (select feedback_date from ops.dirty_dates)
),
final as (
    select
        r.source || ':' || r.review_id as feedback_id,
        r.source,
        review_id,
        created_at as occurred_at,
        feedback_date,
        rating,
        product,
        location,
        c.customer_key,
        author_hash,
        reply_text is not null as is_replied,
        case when reply_text is not null and reply_at >= created_at
            then cast(extract(epoch from (reply_at - created_at)) as double precision) / 3600.0
        end as reply_hours,
        sentiment_score,
        sentiment_label
    from reviews as r
    left join tmp_item_customer as c on c.feedback_id = r.source || ':' || r.review_id
)
select * from final;
