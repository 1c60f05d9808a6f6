-- Version 8: how far each incremental HTTP API source has been pulled. The next pull starts at
-- cursor_at less the source's overlap; the row is written in the load's own transaction, so it
-- moves only when the rows it covers are committed.
-- grain: one row per API source
create table if not exists ops.source_cursors (
    source      text primary key,
    cursor_at   timestamptz not null,
    updated_at  timestamptz not null,
    run_id      text not null
);
