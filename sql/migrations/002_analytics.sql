-- Version 2: the analytic marts the report reads beside kpi_daily (KPIS.md "Beyond the table"),
-- the theme dimension and its bridge, and the schema-drift log shown in the report footer.

-- grain: one row per theme of the versioned taxonomy (config/themes.yml)
create table if not exists marts.dim_theme (
    theme            text primary key,
    category         text not null,
    pyramid_level    text check (pyramid_level in ('utility', 'usability', 'pleasure')),
    journey_stage    text,
    taxonomy_version text not null
);

-- grain: one row per (feedback item, theme) tag; an item may carry several themes
create table if not exists marts.feedback_theme (
    feedback_id   text not null,
    theme         text not null,
    feedback_date date not null,
    primary key (feedback_id, theme)
);

-- grain: one row per (kpi_date, window_days, theme, metric): leave-one-out impact with bootstrap CI
create table if not exists marts.theme_impact (
    kpi_date     date not null,
    window_days  integer not null check (window_days in (1, 7, 28)),
    theme        text not null,
    metric       text not null check (metric in ('nps', 'avg_rating')),
    impact       double precision not null,
    ci_low       double precision,
    ci_high      double precision,
    n_with       bigint not null,
    n_without    bigint not null,
    primary key (kpi_date, window_days, theme, metric)
);

-- grain: one row per (kpi_date, term): an n-gram outside the taxonomy rising against 28 days
create table if not exists marts.emerging_terms (
    kpi_date       date not null,
    term           text not null,
    recent_count   bigint not null,
    baseline_count bigint not null,
    lift           double precision not null,
    primary key (kpi_date, term)
);

-- grain: one row per (kpi_date, metric, segment): a value outside mean ± 3 sd of the trailing 28 days
create table if not exists marts.anomalies (
    kpi_date      date not null,
    metric        text not null,
    segment_type  text not null,
    segment_value text not null,
    value         double precision not null,
    baseline_mean double precision not null,
    baseline_sd   double precision not null,
    z             double precision not null,
    primary key (kpi_date, metric, segment_type, segment_value)
);

-- grain: one row per (kpi_date, customer): latest interaction negative and unanswered
create table if not exists marts.customers_at_risk (
    kpi_date      date not null,
    customer_hash text not null,
    source        text not null,
    feedback_id   text not null,
    occurred_at   timestamptz not null,
    text          text,
    url           text,
    reason        text not null,
    primary key (kpi_date, customer_hash)
);

-- grain: one row per (kpi_date, dimension): spread of 28-day net sentiment across its values
create table if not exists marts.channel_consistency (
    kpi_date              date not null,
    dimension             text not null check (dimension in ('source', 'touchpoint')),
    spread                double precision not null,
    segments              integer not null,
    weakest_value         text not null,
    weakest_net_sentiment double precision not null,
    primary key (kpi_date, dimension)
);

-- grain: one row per (source, file, change): a column renamed, added or missing against the format
create table if not exists ops.schema_drift (
    run_id        text not null,
    source        text not null,
    business_date date not null,
    file          text not null,
    change        text not null check (change in ('renamed', 'added', 'missing')),
    column_name   text not null,
    detail        text,
    detected_at   timestamptz not null,
    primary key (source, file, change, column_name)
);
