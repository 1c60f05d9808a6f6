-- A customer's interactions, as customers_at_risk.sql reads them (KPIS.md): every survey response,
-- review and mention with a hashed customer, and why it is negative (null when it is not).
-- Negative: a detractor score (NPS 0-6), a 1-2 star review without an owner reply, a negative
-- mention. Surveys and mentions carry no reply, so a negative one counts as unanswered.
create temporary view tmp_interactions as
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
where author_hash is not null;
