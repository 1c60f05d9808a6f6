-- Version 5: the file ledger. Every file a source reads is recorded with its size and checksum,
-- so a file delivered twice is loaded once and a file changed after loading is reloaded.

-- grain: one row per (source, path): the content last read from that path
create table if not exists ops.file_ledger (
    source      text not null,
    path        text not null,
    size        bigint not null,
    checksum    text not null,
    rows        bigint not null,
    status      text not null check (status in ('loaded', 'duplicate')),
    loaded_at   timestamptz not null,
    run_id      text not null,
    primary key (source, path)
);
