-- grain: one row per replied review of the feedback dates in [min_date, max_date], with the
-- segments it is counted in, in date order: pipelines/kpis/stats.py takes each window's median
-- reply time from these rows (medians do not add up across days, so the windows read reviews).
select r.feedback_date, r.reply_hours, r.source, r.product, r.location, f.journey_stage, f.touchpoint,
    f.pyramid_level
from marts.fct_review as r
left join marts.fct_feedback as f  -- an item's rows share its date: the scan skips the rest of the history
    on f.feedback_id = r.feedback_id and f.feedback_date between :min_date and :max_date
where r.reply_hours is not null and r.feedback_date between :min_date and :max_date
order by r.feedback_date;
