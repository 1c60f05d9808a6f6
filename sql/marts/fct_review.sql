-- grain: one row per review (its latest version), with the staged version (`_load_id`) it was
-- built from; rewritten for the items of sql/marts/rebuild_items.sql only.
-- tmp_item_customer (feedback_id, customer_key) comes from pipelines/warehouse/identity.py.
delete from marts.fct_review
where feedback_date in (select feedback_date from tmp_partial_dates)
    and feedback_id in (select feedback_id from tmp_rewrite);

insert into marts.fct_review (
    feedback_id, source, review_id, occurred_at, feedback_date, rating, product, location,
    customer_key, author_hash, is_replied, reply_hours, sentiment_score, sentiment_label, load_id
)
with reviews as (
    select * from tmp_rebuilt_reviews
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
        sentiment_label,
        _load_id as load_id
    from reviews as r
    left join tmp_item_customer as c on c.feedback_id = r.source || ':' || r.review_id
)
select * from final;
