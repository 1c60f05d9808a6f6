-- Version 12, DuckDB only (see 012_fact_references.sql): the four facts are re-created without
-- their foreign keys, keeping their checks and not-null columns; as in versions 3 and 10, each
-- table is copied aside first and no row is lost.

create table marts.fct_review_v12 as select * from marts.fct_review;
drop table marts.fct_review;
create table marts.fct_review (
    feedback_id text not null,
    source text not null,
    review_id text not null,
    occurred_at timestamptz not null,
    feedback_date date not null,
    rating double precision,
    product text,
    location text,
    customer_key text,
    author_hash text,
    is_replied boolean not null,
    reply_hours double precision,
    sentiment_score double precision,
    sentiment_label text,
    check (rating between 1 and 5),
    check (reply_hours >= 0),
    check (sentiment_label in ('positive', 'neutral', 'negative'))
);
insert into marts.fct_review select * from marts.fct_review_v12;
drop table marts.fct_review_v12;

create table marts.fct_mention_v12 as select * from marts.fct_mention;
drop table marts.fct_mention;
create table marts.fct_mention (
    feedback_id text not null,
    source text not null,
    mention_id text not null,
    occurred_at timestamptz not null,
    feedback_date date not null,
    customer_key text,
    author_hash text,
    likes double precision,
    shares double precision,
    replies double precision,
    names_brand boolean not null,
    names_competitor boolean not null,
    sentiment_score double precision,
    sentiment_label text,
    check (sentiment_label in ('positive', 'neutral', 'negative'))
);
insert into marts.fct_mention select * from marts.fct_mention_v12;
drop table marts.fct_mention_v12;

create table marts.fct_survey_response_v12 as select * from marts.fct_survey_response;
drop table marts.fct_survey_response;
create table marts.fct_survey_response (
    feedback_id text not null,
    source text not null,
    response_id text not null,
    occurred_at timestamptz not null,
    feedback_date date not null,
    customer_key text,
    respondent_hash text,
    nps double precision,
    csat double precision,
    ces double precision,
    journey_stage text,
    touchpoint text,
    product text,
    location text,
    channel text,
    sentiment_score double precision,
    sentiment_label text,
    check (nps between 0 and 10),
    check (csat between 1 and 5),
    check (ces between 1 and 7),
    check (sentiment_label in ('positive', 'neutral', 'negative'))
);
insert into marts.fct_survey_response select * from marts.fct_survey_response_v12;
drop table marts.fct_survey_response_v12;

create table marts.fct_feedback_v12 as select * from marts.fct_feedback;
drop table marts.fct_feedback;
create table marts.fct_feedback (
    feedback_id text not null,
    family text not null,
    source text not null,
    occurred_at timestamptz not null,
    feedback_date date not null,
    text text not null,
    sentiment_score double precision,
    sentiment_label text,
    rating double precision,
    nps double precision,
    csat double precision,
    ces double precision,
    product text,
    location text,
    journey_stage text,
    touchpoint text,
    pyramid_level text,
    url text,
    customer_hash text,
    customer_key text,
    check (family in ('review', 'mention', 'survey')),
    check (sentiment_label in ('positive', 'neutral', 'negative'))
);
insert into marts.fct_feedback select * from marts.fct_feedback_v12;
drop table marts.fct_feedback_v12;
