-- grain: one row per social mention; rebuilt for the dirty dates only (customer keys: tmp_item_customer)
delete from marts.fct_mention where feedback_date in (select feedback_date from ops.dirty_dates);

insert into marts.fct_mention (
    feedback_id, source, mention_id, occurred_at, feedback_date, customer_key, author_hash, likes, shares,
    replies, names_brand, names_competitor, sentiment_score, sentiment_label
)
with mentions as (
    select * from staging.stg_mention
    where feedback_date in (select feedback_date from ops.dirty_dates)
),
final as (
    select
        m.source || ':' || m.mention_id as feedback_id,
        m.source,
        mention_id,
        created_at as occurred_at,
        feedback_date,
        c.customer_key,
        author_hash,
        likes,
        shares,
        replies,
        names_brand,
        names_competitor,
        sentiment_score,
        sentiment_label
    from mentions as m
    left join tmp_item_customer as c on c.feedback_id = m.source || ':' || m.mention_id
)
select * from final;
