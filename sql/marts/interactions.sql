-- A customer's interactions, as customers_at_risk.sql reads them (KPIS.md): every survey response,
-- review and mention of a resolved customer (customer_key: identity resolution links an item's
-- e-mail, customer id and author handle across sources, pipelines/warehouse/identity.py), and why
-- it is negative (null when it is not). The column keeps the name customer_hash that
-- marts.risk_spans and the view marts.customers_at_risk give it (version 22).
-- Negative: a detractor score (NPS 0-6), a 1-2 star review without an owner reply, a negative
-- mention. Surveys and mentions carry no reply, so a negative one counts as unanswered.
create temporary view tmp_interactions as
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
where customer_key is not null;
