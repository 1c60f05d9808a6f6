-- grain: one row per (kpi_date, customer_hash) for the kpi dates in tmp_kpi_dates: customers
-- whose latest interaction in the 28 days to kpi_date is negative and unanswered (KPIS.md).
-- Negative: a detractor score (NPS 0-6), a 1-2 star review without an owner reply, a negative
-- mention. Surveys and mentions carry no reply, so a negative one counts as unanswered.
-- An interaction is a customer's latest from its own date until the day before their next one
-- (feedback_date follows occurred_at), and at most 27 days on: each one covers one span of kpi
-- dates, so the work follows the interactions, not interactions times kpi dates.
delete from marts.customers_at_risk where kpi_date in (select kpi_date from tmp_kpi_dates);

insert into marts.customers_at_risk (
    kpi_date, customer_hash, source, feedback_id, occurred_at, text, url, reason
)
with interactions as (
    select feedback_id, source, occurred_at, feedback_date, respondent_hash as customer_hash,
        case when nps <= 6 then 'detractor' end as reason
    from marts.fct_survey_response
    where respondent_hash is not null and feedback_date between :min_date and :max_date
    union all
    select feedback_id, source, occurred_at, feedback_date, author_hash,
        case when rating <= 2 and not is_replied then 'unanswered low rating' end
    from marts.fct_review
    where author_hash is not null and feedback_date between :min_date and :max_date
    union all
    select feedback_id, source, occurred_at, feedback_date, author_hash,
        case when sentiment_label = 'negative' then 'negative mention' end
    from marts.fct_mention
    where author_hash is not null and feedback_date between :min_date and :max_date
),
spans as (
    select *,
        lead(feedback_date) over (partition by customer_hash order by occurred_at, feedback_id) as next_date
    from interactions
),
negative as (
    select customer_hash, source, feedback_id, occurred_at, reason, feedback_date as first_date,
        least(feedback_date + 27, coalesce(next_date - 1, feedback_date + 27)) as last_date
    from spans
    where reason is not null
),
texts as (
    select feedback_id, text, url from marts.fct_feedback
    where feedback_date between :min_date and :max_date
)
select k.kpi_date, n.customer_hash, n.source, n.feedback_id, n.occurred_at, t.text, t.url, n.reason
from negative as n
join tmp_kpi_dates as k on k.kpi_date between n.first_date and n.last_date
left join texts as t on t.feedback_id = n.feedback_id;
