-- grain: one row per social mention, with the staged version (`_load_id`) it was built from;
-- rewritten for the items of sql/marts/rebuild_items.sql only (customer keys: tmp_item_customer)
delete from marts.fct_mention
where feedback_date in (select feedback_date from tmp_partial_dates)
    and feedback_id in (select feedback_id from tmp_rewrite);

insert into marts.fct_mention (
    feedback_id, source, mention_id, occurred_at, feedback_date, customer_key, author_hash, likes, shares,
    replies, names_brand, names_competitor, sentiment_score, sentiment_label, load_id
)
with mentions as (
    select * from tmp_rebuilt_mentions
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
        sentiment_label,
        _load_id as load_id
    from mentions as m
    left join tmp_item_customer as c on c.feedback_id = m.source || ':' || m.mention_id
)
select * from final;
