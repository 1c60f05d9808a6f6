-- Version 9: theme tags cached by text, like sentiment scores (006), so re-tagging the same
-- feedback (a rerun, a backfill, a re-dirtied date) is a lookup. text_hash is md5 of the UTF-8
-- text; taxonomy is the taxonomy's key (a hash of every theme's name and pattern, so any edit to
-- config/themes.yml re-keys); themes has bit i set when the i-th theme in file order matches.
create table if not exists ops.theme_cache (
    text_hash text   not null,
    taxonomy  text   not null,
    themes    bigint not null,
    primary key (text_hash, taxonomy)
);
