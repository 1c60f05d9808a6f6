-- grain: one row per input record of one source, exactly as parsed, with its lineage.
-- {table} is an allow-listed identifier (raw.<source name>), never user text.
create table if not exists {table} (
    item_id     text,
    item_at     timestamptz,
    _record     text,
    _parse_error text,
    _load_id    text not null,
    _file       text not null,
    _line       bigint not null,
    _loaded_at  timestamptz not null
);
