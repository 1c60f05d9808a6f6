-- grain: one row per (replied review, theme) of the feedback dates in [min_date, max_date], in date
-- order: the reviews of each theme segment of the reply-time medians (kpi_replied.sql).
select r.feedback_date, t.theme, r.reply_hours
from marts.fct_review as r
join marts.feedback_theme as t
    on t.feedback_id = r.feedback_id and t.feedback_date between :min_date and :max_date
where r.reply_hours is not null and r.feedback_date between :min_date and :max_date
order by r.feedback_date;
