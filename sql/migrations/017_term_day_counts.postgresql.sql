-- Version 17, PostgreSQL only (see 017_term_day_counts.sql): term counts are deleted and read by
-- date ranges, which an index answers without scanning the history.
create index if not exists term_day_counts_date on marts.term_day_counts (feedback_date);
