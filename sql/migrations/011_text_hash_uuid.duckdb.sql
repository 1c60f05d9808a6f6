-- Version 11 on DuckDB (see 011_text_hash_uuid.sql): DuckDB cannot change the type of a key
-- column, so each cache is copied aside and re-created, as in versions 3 and 10; no row is lost.
create table ops.sentiment_cache_v11 as select * from ops.sentiment_cache;
drop table ops.sentiment_cache;
create table ops.sentiment_cache (
    text_hash     uuid not null,
    model         text not null,
    model_version text not null,
    score         double precision not null check (score between -1 and 1),
    primary key (text_hash, model, model_version)
);
insert into ops.sentiment_cache select text_hash::uuid, model, model_version, score from ops.sentiment_cache_v11;
drop table ops.sentiment_cache_v11;

create table ops.theme_cache_v11 as select * from ops.theme_cache;
drop table ops.theme_cache;
create table ops.theme_cache (
    text_hash uuid   not null,
    taxonomy  text   not null,
    themes    bigint not null,
    primary key (text_hash, taxonomy)
);
insert into ops.theme_cache select text_hash::uuid, taxonomy, themes from ops.theme_cache_v11;
drop table ops.theme_cache_v11;
