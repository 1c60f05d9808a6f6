-- Version 7: the report delivery ledger, so a rerun or a backfill never emails a report twice.

-- grain: one row per (report_date, recipient, kind): the last delivery attempt of that report
create table if not exists ops.report_deliveries (
    report_date  date not null,
    recipient    text not null,
    kind         text not null,
    content_hash text not null,
    message_id   text not null,
    status       text not null check (status in ('sent', 'written', 'failed')),
    sent_at      timestamptz not null,
    detail       text,
    primary key (report_date, recipient, kind)
);
