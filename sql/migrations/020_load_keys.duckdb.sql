-- Version 20, DuckDB only: the staging tables and the text caches lose their primary keys. DuckDB
-- backs each with an ART index that every insert updates and that a checkpoint writes out anew
-- wherever it changed, which for keys arriving in no order is nearly all of it. On the 90 days of
-- a mid-size brand: 60,000 new cached sentiments cost 0.43 s to insert and 0.90 s to checkpoint
-- with the key, 0.04 and 0.05 s without; 60,000 new mentions 1.83 and 0.92 s, without 0.95 and
-- 0.50 s. The cost grows with the history, and a backfill checkpoints every 128 MB of log (every
-- few days of a mid-size brand) where a single run checkpoints at most once a source.
-- Each key still holds by construction, DuckDB letting one process at a time write the file:
-- sql/staging/upsert.sql deletes the stored version of every key a batch brings before inserting
-- it, and a batch holds one row per key; a text cache stores only texts it has just looked up in
-- the same transaction and missed, once each. The marts checks test the uniqueness of
-- fct_feedback's feedback_id, built from the staging keys, on every rebuild. PostgreSQL keeps its
-- keys (020_load_keys.sql). Each table is built anew beside the old one and renamed, with every
-- other constraint; no row is lost.

create table staging.stg_review_v20 (
    source          text not null,
    review_id       text not null,
    created_at      timestamptz not null,
    updated_at      timestamptz,
    version_at      timestamptz not null,
    feedback_date   date not null,
    rating          double precision check (rating between 1 and 5),
    title           text,
    body            text,
    text            text,
    language        text,
    author_hash     text,
    product         text,
    location        text,
    reply_text      text,
    reply_at        timestamptz,
    url             text,
    sentiment_score double precision,
    sentiment_label text,
    _load_id        text not null,
    _file           text,
    _line           bigint,
    email_hash      text,
    customer_id_hash text
);
insert into staging.stg_review_v20 select * from staging.stg_review;
drop table staging.stg_review;
alter table staging.stg_review_v20 rename to stg_review;

create table staging.stg_mention_v20 (
    source           text not null,
    mention_id       text not null,
    created_at       timestamptz not null,
    version_at       timestamptz not null,
    feedback_date    date not null,
    text             text,
    language         text,
    author_hash      text,
    likes            double precision,
    shares           double precision,
    replies          double precision,
    url              text,
    in_reply_to      text,
    names_brand      boolean not null,
    names_competitor boolean not null,
    sentiment_score  double precision,
    sentiment_label  text,
    _load_id         text not null,
    _file            text,
    _line            bigint,
    email_hash       text,
    customer_id_hash text
);
insert into staging.stg_mention_v20 select * from staging.stg_mention;
drop table staging.stg_mention;
alter table staging.stg_mention_v20 rename to stg_mention;

create table staging.stg_survey_response_v20 (
    source           text not null,
    response_id      text not null,
    submitted_at     timestamptz not null,
    version_at       timestamptz not null,
    feedback_date    date not null,
    respondent_hash  text,
    nps              double precision check (nps between 0 and 10),
    csat             double precision check (csat between 1 and 5),
    ces              double precision check (ces between 1 and 7),
    comment          text,
    text             text,
    journey_stage    text,
    touchpoint       text,
    product          text,
    location         text,
    channel          text,
    sentiment_score  double precision,
    sentiment_label  text,
    _load_id         text not null,
    _file            text,
    _line            bigint,
    email_hash       text,
    customer_id_hash text
);
insert into staging.stg_survey_response_v20 select * from staging.stg_survey_response;
drop table staging.stg_survey_response;
alter table staging.stg_survey_response_v20 rename to stg_survey_response;

create table ops.sentiment_cache_v20 (
    text_hash     uuid not null,
    model         text not null,
    model_version text not null,
    score         double precision not null check (score between -1 and 1)
);
insert into ops.sentiment_cache_v20 select * from ops.sentiment_cache;
drop table ops.sentiment_cache;
alter table ops.sentiment_cache_v20 rename to sentiment_cache;

create table ops.theme_cache_v20 (
    text_hash uuid   not null,
    taxonomy  text   not null,
    themes    bigint not null
);
insert into ops.theme_cache_v20 select * from ops.theme_cache;
drop table ops.theme_cache;
alter table ops.theme_cache_v20 rename to theme_cache;
