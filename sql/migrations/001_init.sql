-- Version 1: the four layers (ARCHITECTURE.md). raw.<source> tables are created per source
-- from sql/raw_table.sql; everything else is fixed here.
create schema if not exists raw;
create schema if not exists staging;
create schema if not exists marts;
create schema if not exists ops;

-- grain: one row per review (source, review_id); the latest version by updated_at wins
create table if not exists staging.stg_review (
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
    primary key (source, review_id)
);

-- grain: one row per social mention (source, mention_id)
create table if not exists staging.stg_mention (
    source          text not null,
    mention_id      text not null,
    created_at      timestamptz not null,
    version_at      timestamptz not null,
    feedback_date   date not null,
    text            text,
    language        text,
    author_hash     text,
    likes           double precision,
    shares          double precision,
    replies         double precision,
    url             text,
    in_reply_to     text,
    names_brand     boolean not null,
    names_competitor boolean not null,
    sentiment_score double precision,
    sentiment_label text,
    _load_id        text not null,
    _file           text,
    _line           bigint,
    primary key (source, mention_id)
);

-- grain: one row per survey response (source, response_id)
create table if not exists staging.stg_survey_response (
    source          text not null,
    response_id     text not null,
    submitted_at    timestamptz not null,
    version_at      timestamptz not null,
    feedback_date   date not null,
    respondent_hash text,
    nps             double precision check (nps between 0 and 10),
    csat            double precision check (csat between 1 and 5),
    ces             double precision check (ces between 1 and 7),
    comment         text,
    text            text,
    journey_stage   text,
    touchpoint      text,
    product         text,
    location        text,
    channel         text,
    sentiment_score double precision,
    sentiment_label text,
    _load_id        text not null,
    _file           text,
    _line           bigint,
    primary key (source, response_id)
);

-- grain: one row per calendar day that carries feedback
create table if not exists marts.dim_date (
    date_day    date primary key,
    year        integer not null,
    quarter     integer not null,
    month       integer not null,
    iso_week    integer not null,
    iso_dow     integer not null,
    is_weekend  boolean not null
);

-- grain: one row per configured source
create table if not exists marts.dim_source (
    source  text primary key,
    family  text not null check (family in ('review', 'mention', 'survey')),
    format  text not null
);

-- grain: one row per review (latest version)
create table if not exists marts.fct_review (
    feedback_id     text primary key,
    source          text not null,
    review_id       text not null,
    occurred_at     timestamptz not null,
    feedback_date   date not null,
    rating          double precision,
    product         text,
    location        text,
    author_hash     text,
    is_replied      boolean not null,
    reply_hours     double precision,
    sentiment_score double precision,
    sentiment_label text
);

-- grain: one row per social mention
create table if not exists marts.fct_mention (
    feedback_id     text primary key,
    source          text not null,
    mention_id      text not null,
    occurred_at     timestamptz not null,
    feedback_date   date not null,
    author_hash     text,
    likes           double precision,
    shares          double precision,
    replies         double precision,
    names_brand     boolean not null,
    names_competitor boolean not null,
    sentiment_score double precision,
    sentiment_label text
);

-- grain: one row per survey response
create table if not exists marts.fct_survey_response (
    feedback_id     text primary key,
    source          text not null,
    response_id     text not null,
    occurred_at     timestamptz not null,
    feedback_date   date not null,
    respondent_hash text,
    nps             double precision,
    csat            double precision,
    ces             double precision,
    journey_stage   text,
    touchpoint      text,
    product         text,
    location        text,
    channel         text,
    sentiment_score double precision,
    sentiment_label text
);

-- grain: one row per text-bearing item of any family (CONTRACT.md)
create table if not exists marts.fct_feedback (
    feedback_id     text primary key,
    family          text not null,
    source          text not null,
    occurred_at     timestamptz not null,
    feedback_date   date not null,
    text            text not null,
    sentiment_score double precision,
    sentiment_label text check (sentiment_label in ('positive', 'neutral', 'negative')),
    rating          double precision,
    nps             double precision,
    csat            double precision,
    ces             double precision,
    product         text,
    location        text,
    journey_stage   text,
    touchpoint      text,
    pyramid_level   text,
    url             text,
    customer_hash   text
);

-- grain: one row per (kpi_date, window_days, metric, segment_type, segment_value)
create table if not exists marts.kpi_daily (
    kpi_date      date not null,
    window_days   integer not null check (window_days in (1, 7, 28)),
    metric        text not null,
    segment_type  text not null,
    segment_value text not null,
    value         double precision not null,
    sample_size   bigint not null,
    ci_low        double precision,
    ci_high       double precision,
    primary key (kpi_date, window_days, metric, segment_type, segment_value)
);

-- grain: one row per applied migration
create table if not exists ops.schema_migrations (
    version     integer primary key,
    name        text not null,
    applied_at  timestamptz not null
);

-- grain: one row per run of the pipeline
create table if not exists ops.runs (
    run_id        text primary key,
    business_date date not null,
    started_at    timestamptz not null,
    finished_at   timestamptz,
    status        text not null,
    message       text
);

-- grain: one row per (run, source): the outcome of one source in one run
create table if not exists ops.source_runs (
    run_id        text not null,
    source        text not null,
    business_date date not null,
    status        text not null,
    message       text,
    files         integer not null,
    finished_at   timestamptz not null,
    primary key (run_id, source)
);

-- grain: one row per (run, source): every input row is loaded, quarantined or a duplicate
create table if not exists ops.row_accounting (
    run_id           text not null,
    source           text not null,
    business_date    date not null,
    rows_in          bigint not null,
    rows_loaded      bigint not null,
    rows_quarantined bigint not null,
    rows_duplicate   bigint not null,
    primary key (run_id, source),
    check (rows_in = rows_loaded + rows_quarantined + rows_duplicate)
);

-- grain: one row per (source, file, line) that failed a critical expectation; replaced on reload
create table if not exists ops.quarantine (
    run_id        text not null,
    source        text not null,
    business_date date not null,
    file          text not null,
    line          bigint not null,
    reason        text not null,
    raw_record    text,
    primary key (source, file, line)
);

-- grain: one row per (run, source, expectation, column)
create table if not exists ops.validation_results (
    run_id           text not null,
    source           text not null,
    business_date    date not null,
    suite            text not null,
    expectation      text not null,
    column_name      text,
    severity         text not null,
    success          boolean not null,
    unexpected_count bigint,
    element_count    bigint
);

-- grain: one row per feedback date whose marts must be rebuilt (set by loads, cleared by marts)
create table if not exists ops.dirty_dates (
    feedback_date date primary key
);
