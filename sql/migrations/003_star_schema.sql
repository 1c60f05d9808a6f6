-- Version 3: the star schema. Conformed dimensions keyed by their natural value (product,
-- location, journey stage, touchpoint), dim_customer keyed by a surrogate customer_key that
-- resolves one customer's identifiers across sources, and the facts re-created with foreign keys
-- to every dimension (DuckDB cannot add constraints to an existing table, and its foreign keys
-- do not follow a renamed table, so each fact is copied aside and re-created). Upgrading keeps all
-- data: facts are copied, dimensions are filled from them, and every date is marked dirty so the
-- next run fills the customer keys. PostgreSQL-only DDL lives in 003_star_schema.postgresql.sql.

-- identifiers that link items across sources (CX_PII_KEY hashes, like author_hash)
alter table staging.stg_review add column if not exists email_hash text;
alter table staging.stg_review add column if not exists customer_id_hash text;
alter table staging.stg_mention add column if not exists email_hash text;
alter table staging.stg_mention add column if not exists customer_id_hash text;
alter table staging.stg_survey_response add column if not exists email_hash text;
alter table staging.stg_survey_response add column if not exists customer_id_hash text;

-- grain: one row per product named by any review or survey response
create table if not exists marts.dim_product (
    product text primary key
);

-- grain: one row per location named by any review or survey response
create table if not exists marts.dim_location (
    location text primary key
);

-- grain: one row per customer-journey stage named by any survey response
create table if not exists marts.dim_journey_stage (
    journey_stage text primary key
);

-- grain: one row per touchpoint named by any survey response
create table if not exists marts.dim_touchpoint (
    touchpoint text primary key
);

-- grain: one row per resolved customer; a customer merged into another keeps its row, pointing at the survivor
create table if not exists marts.dim_customer (
    customer_key   text primary key,
    identity_count integer not null check (identity_count >= 0),
    has_email      boolean not null,
    has_customer_id boolean not null,
    merged_into    text
);

-- grain: one row per hashed identifier (kind:hash) and the customer it belongs to
create table if not exists marts.customer_identity (
    identity      text primary key,
    identity_kind text not null check (identity_kind in ('email', 'customer_id', 'author')),
    customer_key  text not null references marts.dim_customer (customer_key)
);

-- the members the existing facts already name
insert into marts.dim_source (source, family, format)
with seen as (
    select distinct source, 'review' as family from marts.fct_review
    union select distinct source, 'mention' from marts.fct_mention
    union select distinct source, 'survey' from marts.fct_survey_response
    union select distinct source, family from marts.fct_feedback
)
select source, min(family), 'unconfigured' from seen
where source not in (select source from marts.dim_source)
group by source;

insert into marts.dim_date (date_day, year, quarter, month, iso_week, iso_dow, is_weekend)
with dates as (
    select feedback_date as date_day from marts.fct_review
    union select feedback_date from marts.fct_mention
    union select feedback_date from marts.fct_survey_response
    union select feedback_date from marts.fct_feedback
)
select
    date_day,
    cast(extract(year from date_day) as integer),
    cast(extract(quarter from date_day) as integer),
    cast(extract(month from date_day) as integer),
    cast(extract(week from date_day) as integer),
    cast(extract(isodow from date_day) as integer),
    extract(isodow from date_day) in (6, 7)
from dates
where date_day not in (select date_day from marts.dim_date);

insert into marts.dim_product (product)
select product from marts.fct_review where product is not null
union select product from marts.fct_survey_response where product is not null
union select product from marts.fct_feedback where product is not null;

insert into marts.dim_location (location)
select location from marts.fct_review where location is not null
union select location from marts.fct_survey_response where location is not null
union select location from marts.fct_feedback where location is not null;

insert into marts.dim_journey_stage (journey_stage)
select journey_stage from marts.fct_survey_response where journey_stage is not null
union select journey_stage from marts.fct_feedback where journey_stage is not null;

insert into marts.dim_touchpoint (touchpoint)
select touchpoint from marts.fct_survey_response where touchpoint is not null
union select touchpoint from marts.fct_feedback where touchpoint is not null;

-- grain: one row per review (its latest version)
create table marts.fct_review_v2 as select * from marts.fct_review;
drop table marts.fct_review;
create table marts.fct_review (
    feedback_id     text primary key,
    source          text not null references marts.dim_source (source),
    review_id       text not null,
    occurred_at     timestamptz not null,
    feedback_date   date not null references marts.dim_date (date_day),
    rating          double precision check (rating between 1 and 5),
    product         text references marts.dim_product (product),
    location        text references marts.dim_location (location),
    customer_key    text references marts.dim_customer (customer_key),
    author_hash     text,
    is_replied      boolean not null,
    reply_hours     double precision check (reply_hours >= 0),
    sentiment_score double precision,
    sentiment_label text check (sentiment_label in ('positive', 'neutral', 'negative')),
    unique (source, review_id)
);
insert into marts.fct_review (
    feedback_id, source, review_id, occurred_at, feedback_date, rating, product, location, author_hash,
    is_replied, reply_hours, sentiment_score, sentiment_label
)
select
    feedback_id, source, review_id, occurred_at, feedback_date, rating, product, location, author_hash,
    is_replied, reply_hours, sentiment_score, sentiment_label
from marts.fct_review_v2;
drop table marts.fct_review_v2;

-- grain: one row per social mention
create table marts.fct_mention_v2 as select * from marts.fct_mention;
drop table marts.fct_mention;
create table marts.fct_mention (
    feedback_id      text primary key,
    source           text not null references marts.dim_source (source),
    mention_id       text not null,
    occurred_at      timestamptz not null,
    feedback_date    date not null references marts.dim_date (date_day),
    customer_key     text references marts.dim_customer (customer_key),
    author_hash      text,
    likes            double precision,
    shares           double precision,
    replies          double precision,
    names_brand      boolean not null,
    names_competitor boolean not null,
    sentiment_score  double precision,
    sentiment_label  text check (sentiment_label in ('positive', 'neutral', 'negative')),
    unique (source, mention_id)
);
insert into marts.fct_mention (
    feedback_id, source, mention_id, occurred_at, feedback_date, author_hash, likes, shares, replies,
    names_brand, names_competitor, sentiment_score, sentiment_label
)
select
    feedback_id, source, mention_id, occurred_at, feedback_date, author_hash, likes, shares, replies,
    names_brand, names_competitor, sentiment_score, sentiment_label
from marts.fct_mention_v2;
drop table marts.fct_mention_v2;

-- grain: one row per survey response
create table marts.fct_survey_response_v2 as select * from marts.fct_survey_response;
drop table marts.fct_survey_response;
create table marts.fct_survey_response (
    feedback_id     text primary key,
    source          text not null references marts.dim_source (source),
    response_id     text not null,
    occurred_at     timestamptz not null,
    feedback_date   date not null references marts.dim_date (date_day),
    customer_key    text references marts.dim_customer (customer_key),
    respondent_hash text,
    nps             double precision check (nps between 0 and 10),
    csat            double precision check (csat between 1 and 5),
    ces             double precision check (ces between 1 and 7),
    journey_stage   text references marts.dim_journey_stage (journey_stage),
    touchpoint      text references marts.dim_touchpoint (touchpoint),
    product         text references marts.dim_product (product),
    location        text references marts.dim_location (location),
    channel         text,
    sentiment_score double precision,
    sentiment_label text check (sentiment_label in ('positive', 'neutral', 'negative')),
    unique (source, response_id)
);
insert into marts.fct_survey_response (
    feedback_id, source, response_id, occurred_at, feedback_date, respondent_hash, nps, csat, ces,
    journey_stage, touchpoint, product, location, channel, sentiment_score, sentiment_label
)
select
    feedback_id, source, response_id, occurred_at, feedback_date, respondent_hash, nps, csat, ces,
    journey_stage, touchpoint, product, location, channel, sentiment_score, sentiment_label
from marts.fct_survey_response_v2;
drop table marts.fct_survey_response_v2;

-- grain: one row per text-bearing item of any family (CONTRACT.md)
create table marts.fct_feedback_v2 as select * from marts.fct_feedback;
drop table marts.fct_feedback;
create table marts.fct_feedback (
    feedback_id     text primary key,
    family          text not null check (family in ('review', 'mention', 'survey')),
    source          text not null references marts.dim_source (source),
    occurred_at     timestamptz not null,
    feedback_date   date not null references marts.dim_date (date_day),
    text            text not null,
    sentiment_score double precision,
    sentiment_label text check (sentiment_label in ('positive', 'neutral', 'negative')),
    rating          double precision,
    nps             double precision,
    csat            double precision,
    ces             double precision,
    product         text references marts.dim_product (product),
    location        text references marts.dim_location (location),
    journey_stage   text references marts.dim_journey_stage (journey_stage),
    touchpoint      text references marts.dim_touchpoint (touchpoint),
    pyramid_level   text,
    url             text,
    customer_hash   text,
    customer_key    text references marts.dim_customer (customer_key)
);
insert into marts.fct_feedback (
    feedback_id, family, source, occurred_at, feedback_date, text, sentiment_score, sentiment_label,
    rating, nps, csat, ces, product, location, journey_stage, touchpoint, pyramid_level, url, customer_hash
)
select
    feedback_id, family, source, occurred_at, feedback_date, text, sentiment_score, sentiment_label,
    rating, nps, csat, ces, product, location, journey_stage, touchpoint, pyramid_level, url, customer_hash
from marts.fct_feedback_v2;
drop table marts.fct_feedback_v2;

-- every stored date is rebuilt once by the next run, which fills the customer keys
insert into ops.dirty_dates (feedback_date)
select feedback_date from staging.stg_review
union select feedback_date from staging.stg_mention
union select feedback_date from staging.stg_survey_response
except select feedback_date from ops.dirty_dates;
