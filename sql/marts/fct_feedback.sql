-- grain: one row per text-bearing item of any family; rewritten for the items of
-- sql/marts/rebuild_items.sql only, from
-- tmp_feedback_source (feedback_items.sql) with the customer keys of tmp_item_customer
-- (pipelines/warehouse/identity.py) and the journey stage, touchpoint and pyramid level of
-- tmp_feedback_hints (star.tag_items: survey fields first, else the theme hints), written here,
-- not updated afterwards: DuckDB rewrites every updated row of an indexed table, which made an
-- UPDATE the slowest statement of a large day
-- a date rebuilt whole holds no other fact, but may hold texts or tags of facts deleted by hand
delete from marts.fct_feedback
where feedback_date in (select feedback_date from tmp_whole_dates)
    or (feedback_date in (select feedback_date from tmp_partial_dates)
        and feedback_id in (select feedback_id from tmp_rewrite));

insert into marts.fct_feedback (
    feedback_id, family, source, occurred_at, feedback_date, text, sentiment_score,
    sentiment_label, rating, nps, csat, ces, product, location, journey_stage, touchpoint,
    pyramid_level, url, customer_hash, customer_key
)
select
    f.feedback_id, f.family, f.source, f.occurred_at, f.feedback_date, f.text, f.sentiment_score,
    f.sentiment_label, f.rating, f.nps, f.csat, f.ces, f.product, f.location,
    h.journey_stage, h.touchpoint, h.pyramid_level, f.url, f.customer_hash, c.customer_key
from tmp_feedback_source as f
left join tmp_item_customer as c on c.feedback_id = f.feedback_id
left join tmp_feedback_hints as h on h.feedback_id = f.feedback_id;
