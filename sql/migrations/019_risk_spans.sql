-- Version 19: customers at risk are stored once per negative interaction, as the span of kpi dates
-- on which it makes its customer at risk (marts.risk_spans, written by
-- sql/marts/customers_at_risk.sql), instead of once per kpi date with the verbatim copied into each
-- row. A mid-size brand has some 330,000 customers at risk a date: the table grew by that many rows
-- and their texts every day (about 120 million rows a year), and a build rewrote them for every kpi
-- date it reached, holding them in memory until its commit (700 MB of a backfill chunk's peak).
-- marts.customers_at_risk becomes a view with the same columns, one row per computed kpi date and
-- customer at risk, the verbatim and link read from fct_feedback.

-- grain: one row per negative interaction (feedback_id) that is its customer's latest on the kpi
-- dates first_date .. last_date
create table marts.risk_spans (
    customer_hash text not null,
    source        text not null,
    feedback_id   text not null,
    occurred_at   timestamptz not null,
    reason        text not null,
    first_date    date not null,
    last_date     date not null,
    check (last_date between first_date and first_date + 27)
);

-- the spans of every stored interaction (sql/marts/interactions.sql and customers_at_risk.sql as
-- of this version)
insert into marts.risk_spans (customer_hash, source, feedback_id, occurred_at, reason, first_date, last_date)
with interactions as (
    select feedback_id, source, occurred_at, feedback_date, respondent_hash as customer_hash,
        case when nps <= 6 then 'detractor' end as reason
    from marts.fct_survey_response
    where respondent_hash is not null
    union all
    select feedback_id, source, occurred_at, feedback_date, author_hash,
        case when rating <= 2 and not is_replied then 'unanswered low rating' end
    from marts.fct_review
    where author_hash is not null
    union all
    select feedback_id, source, occurred_at, feedback_date, author_hash,
        case when sentiment_label = 'negative' then 'negative mention' end
    from marts.fct_mention
    where author_hash is not null
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

drop table marts.customers_at_risk;

-- grain: one row per (kpi_date, customer_hash) on the kpi dates computed (those of kpi_daily)
create view marts.customers_at_risk as
select k.kpi_date, s.customer_hash, s.source, s.feedback_id, s.occurred_at, f.text, f.url, s.reason
from marts.risk_spans as s
join (select distinct kpi_date from marts.kpi_daily) as k on k.kpi_date between s.first_date and s.last_date
left join marts.fct_feedback as f on f.feedback_id = s.feedback_id and f.feedback_date = s.first_date;
