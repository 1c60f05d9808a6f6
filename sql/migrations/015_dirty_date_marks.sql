-- Version 15: a dirty date carries a mark that every load marking the date again raises, and a
-- marts build clears only the (date, mark) pairs it read. Before, a load re-marking a date that was
-- already dirty changed nothing, so a load committing while a build ran (parallel backfill runs on
-- PostgreSQL) had its date cleared by the build that had not read its rows: the change waited for
-- the date's next one. Now the raised mark keeps the date for the next build.
alter table ops.dirty_dates add column mark bigint default 0;
