-- grain: one row per text-bearing item a build rewrites (rebuild_items.sql), as staged.
-- tmp_feedback_source is what fct_feedback.sql inserts once pipelines/warehouse/star.py has tagged
-- its themes (tmp_feedback_hints); tmp_feedback_items holds only what the tagging reads, with item_no
-- numbering the items so that they are tagged in chunks (unordered: an ordered window would hold
-- every text at once). fct_feedback.sql streams the view instead of joining this table: a table
-- created in the open transaction looks empty to DuckDB's planner, which then built the join's
-- hash table on it, every text included (+370 MB on a large day).
create temporary view tmp_feedback_source as
with reviews as (
    select
        source || ':' || review_id as feedback_id, 'review' as family, source,
        created_at as occurred_at, feedback_date, text, sentiment_score, sentiment_label,
        rating, cast(null as double precision) as nps, cast(null as double precision) as csat,
        cast(null as double precision) as ces, product, location,
        cast(null as text) as journey_stage, cast(null as text) as touchpoint, url,
        author_hash as customer_hash
    from tmp_rebuilt_reviews
    where text is not null
),
mentions as (
    select
        source || ':' || mention_id, 'mention', source, created_at, feedback_date, text,
        sentiment_score, sentiment_label, cast(null as double precision), cast(null as double precision),
        cast(null as double precision), cast(null as double precision), cast(null as text),
        cast(null as text), cast(null as text), cast(null as text), url, author_hash
    from tmp_rebuilt_mentions
    where text is not null
),
responses as (
    select
        source || ':' || response_id, 'survey', source, submitted_at, feedback_date, text,
        sentiment_score, sentiment_label, cast(null as double precision), nps, csat, ces, product,
        location, journey_stage, touchpoint, cast(null as text), respondent_hash
    from tmp_rebuilt_responses
    where text is not null
),
final as (
    select * from reviews
    union all
    select * from mentions
    union all
    select * from responses
)
select * from final;

create temporary table tmp_feedback_items as
select feedback_id, feedback_date, text, journey_stage, touchpoint, row_number() over () as item_no
from tmp_feedback_source;
