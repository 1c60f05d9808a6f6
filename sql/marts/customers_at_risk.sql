-- grain: one row per (kpi_date, customer_hash) for the kpi dates in tmp_kpi_dates: customers
-- whose latest interaction (tmp_interactions, interactions.sql) in the 28 days to kpi_date is
-- negative and unanswered (KPIS.md).
-- A kpi date computed before (tmp_kpi_dates.computed) is rewritten only for the customers whose
-- interactions changed (tmp_changed_customers, changed_customers.sql); a new one for everyone,
-- reading every customer's interactions from 27 days before the first new kpi date on (the
-- parameter new_low). A mid-size brand lists some 240,000 customers a date, and late items and
-- edits reach about 15 computed dates a night.
-- An interaction is a customer's latest from its own date until the day before their next one
-- (feedback_date follows occurred_at), and at most 27 days on: each one covers one span of kpi
-- dates, so the work follows the interactions, not interactions times kpi dates.
delete from marts.customers_at_risk
where kpi_date in (select kpi_date from tmp_kpi_dates where not computed)
    or (kpi_date in (select kpi_date from tmp_kpi_dates where computed)
        and customer_hash in (select customer_hash from tmp_changed_customers));

insert into marts.customers_at_risk (
    kpi_date, customer_hash, source, feedback_id, occurred_at, text, url, reason
)
with interactions as (
    select * from tmp_interactions
    where feedback_date between :min_date and :max_date
        and (feedback_date >= :new_low or customer_hash in (select customer_hash from tmp_changed_customers))
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
left join texts as t on t.feedback_id = n.feedback_id
where not k.computed or n.customer_hash in (select customer_hash from tmp_changed_customers);
