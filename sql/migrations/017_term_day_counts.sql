-- Version 17: emerging terms read stored per-day term counts. Each build used to read and tokenise
-- every text of the 28-day baselines and the recomputed dates (on a mid-size brand with history,
-- about 50 days of texts and 4 to 5 s a build); now a dirty date's texts are tokenised once
-- (pipelines/kpis/daily.py, write_day_statistics) and the baselines sum the counts of the few terms
-- a recomputed date could flag. No primary key: a build deletes a date's rows before writing them.

-- grain: one row per (feedback_date, term): in how many of the day's texts the unigram or bigram
-- occurs (analytics.term_counts)
create table if not exists marts.term_day_counts (
    feedback_date date not null,
    term          text not null,
    docs          bigint not null
);

-- every stored date is rebuilt once by the next run, which writes its term counts
insert into ops.dirty_dates (feedback_date)
select feedback_date from staging.stg_review
union select feedback_date from staging.stg_mention
union select feedback_date from staging.stg_survey_response
except select feedback_date from ops.dirty_dates;
