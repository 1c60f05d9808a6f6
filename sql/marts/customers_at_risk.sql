-- grain: one row per (kpi_date, customer_hash) for the kpi dates in tmp_kpi_dates: customers
-- whose latest interaction in the 28 days to kpi_date is negative and unanswered (KPIS.md).
-- Negative: a detractor score (NPS 0-6), a 1-2 star review without an owner reply, a negative
-- mention. Surveys and mentions carry no reply, so a negative one counts as unanswered.
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
latest as (
    select k.kpi_date, i.customer_hash, i.source, i.feedback_id, i.occurred_at, i.reason,
        row_number() over (
            partition by k.kpi_date, i.customer_hash order by i.occurred_at desc, i.feedback_id desc
        ) as rn
    from tmp_kpi_dates as k
    join interactions as i on i.feedback_date between k.kpi_date - 27 and k.kpi_date
),
final as (
    select l.kpi_date, l.customer_hash, l.source, l.feedback_id, l.occurred_at, f.text, f.url, l.reason
    from latest as l
    left join marts.fct_feedback as f on f.feedback_id = l.feedback_id
    where l.rn = 1 and l.reason is not null
)
select * from final
order by kpi_date, customer_hash;
