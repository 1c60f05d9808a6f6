-- Version 6: sentiment scores cached by text, so each distinct text is scored once per model
-- version. text_hash is md5 of the UTF-8 text (hex; md5() in both DuckDB and PostgreSQL gives the
-- same value). model_version changes with the lexicon, the rules or the scoring code, so editing
-- config/cx_lexicon.tsv re-keys the cache instead of serving stale scores.
create table if not exists ops.sentiment_cache (
    text_hash     text not null,
    model         text not null,
    model_version text not null,
    score         double precision not null check (score between -1 and 1),
    primary key (text_hash, model, model_version)
);
