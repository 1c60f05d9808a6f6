-- Version 22: customers at risk are resolved across sources (KPIS.md). Their spans are keyed by
-- the customer's key (marts.dim_customer: identity resolution links an item's e-mail, customer id
-- and author handle across sources) instead of each fact's own author or respondent hash, which
-- split one customer's review and survey response into two customers, and joined two people of
-- different sources who shared a handle. marts.risk_spans.customer_hash, and the view's column of
-- that name, now hold that key. Every span is computed again from the stored facts
-- (sql/marts/interactions.sql and customers_at_risk.sql as of this version).

delete from marts.risk_spans;

insert into marts.risk_spans (customer_hash, source, feedback_id, occurred_at, reason, first_date, last_date)
with interactions as (
    select feedback_id, source, occurred_at, feedback_date, customer_key as customer_hash,
        case when nps <= 6 then 'detractor' end as reason
    from marts.fct_survey_response
    where customer_key is not null
    union all
    select feedback_id, source, occurred_at, feedback_date, customer_key,
        case when rating <= 2 and not is_replied then 'unanswered low rating' end
    from marts.fct_review
    where customer_key is not null
    union all
    select feedback_id, source, occurred_at, feedback_date, customer_key,
        case when sentiment_label = 'negative' then 'negative mention' end
    from marts.fct_mention
    where customer_key is not null
),
spans as (
    select *,
        lead(feedback_date) over (partition by customer_hash order by occurred_at, feedback_id) as next_date
    from interactions
)
-- none where a later interaction the same day supersedes it
select customer_hash, source, feedback_id, occurred_at, reason, first_date, last_date
from (
    select customer_hash, source, feedback_id, occurred_at, reason, feedback_date as first_date,
        least(feedback_date + 27, coalesce(next_date - 1, feedback_date + 27)) as last_date
    from spans
    where reason is not null
) as negative
where last_date >= first_date;
