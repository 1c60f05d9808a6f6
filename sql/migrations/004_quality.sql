-- Version 4: the quarantine names the failed expectation and column, and keeps each item of a
-- line apart (an X search page holds many posts on one line). quarantine_id is the first 12 hex
-- digits of md5(source|file|line|item): a stable handle for `cx quarantine show` and replay.
create table ops.quarantine_v4 (
    quarantine_id text primary key,
    run_id        text not null,
    source        text not null,
    business_date date not null,
    file          text not null,
    line          bigint not null,
    item          integer not null,
    expectation   text,
    column_name   text,
    reason        text not null,
    raw_record    text,
    unique (source, file, line, item)
);

insert into ops.quarantine_v4 (quarantine_id, run_id, source, business_date, file, line, item, reason, raw_record)
select substr(md5(source || '|' || file || '|' || cast(line as text) || '|0'), 1, 12), run_id, source,
       business_date, file, line, 0, reason, raw_record
from ops.quarantine;

drop table ops.quarantine;

alter table ops.quarantine_v4 rename to quarantine;
