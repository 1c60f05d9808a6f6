-- grain: one row per negative interaction (tmp_interactions, interactions.sql): the span of kpi
-- dates on which it is its customer's latest interaction in the 28 days to the kpi date, so that
-- the customer is at risk (KPIS.md). The view marts.customers_at_risk (migration 19) lists the rows
-- per kpi date. An interaction is a customer's latest from its own date until the day before their
-- next one (feedback_date follows occurred_at), and at most 27 days on.
-- A span depends on its interaction and the customer's next one, 27 days on at most: the
-- interactions a build changed (dated 27 days after the parameter low or later) reach no span
-- starting before low. So the spans from low on are rewritten, for the customers whose
-- interactions changed (tmp_changed_customers, changed_customers.sql) or for every customer (the
-- parameter everyone). Stored per kpi date, a mid-size brand's 330,000 customers at risk a date
-- were rewritten for every kpi date a build reached.
delete from marts.risk_spans
where first_date >= :low
    and (:everyone or customer_hash in (select customer_hash from tmp_changed_customers));

insert into marts.risk_spans (customer_hash, source, feedback_id, occurred_at, reason, first_date, last_date)
with spans as (
    select *,
        lead(feedback_date) over (partition by customer_hash order by occurred_at, feedback_id) as next_date
    from tmp_interactions
    where feedback_date >= :low
        and (:everyone or customer_hash in (select customer_hash from tmp_changed_customers))
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
