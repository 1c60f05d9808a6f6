-- grain: one row per social mention; rebuilt for the dirty dates only
delete from marts.fct_mention where feedback_date in (select feedback_date from ops.dirty_dates);

insert into marts.fct_mention (
    feedback_id, source, mention_id, occurred_at, feedback_date, author_hash, likes, shares,
    replies, names_brand, names_competitor, sentiment_score, sentiment_label
)
with mentions as (
    select * from staging.stg_mention
    where feedback_date in (select feedback_date from ops.dirty_dates)
),
final as (
    select
        source || ':' || mention_id as feedback_id,
        source,
        mention_id,
        created_at as occurred_at,
        feedback_date,
        author_hash,
        likes,
        shares,
        replies,
        names_brand,
        names_competitor,
        sentiment_score,
        sentiment_label
    from mentions
)
select * from final;
