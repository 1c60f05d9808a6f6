-- Version 3, PostgreSQL only (applied right after 003_star_schema.sql, in the same transaction).
-- DuckDB has no roles and keeps its own zone maps, so none of this applies there.

-- the read-only role for BI tools and report readers: the marts and nothing else (raw holds PII). Roles are the
-- server's: a warehouse migrated at the same time on the same server may create it first, and this create then
-- waits for that commit and finds a duplicate, which is the role wanted.
do $$ begin if not exists (select from pg_roles where rolname = 'cx_marts_reader') then create role cx_marts_reader nologin; end if; exception when duplicate_object or unique_violation then null; end $$;
revoke all on schema raw, staging, ops from cx_marts_reader;
grant usage on schema marts to cx_marts_reader;
grant select on all tables in schema marts to cx_marts_reader;
-- tables later migrations create in marts are readable too
alter default privileges in schema marts grant select on tables to cx_marts_reader;

-- the marts are rebuilt by feedback date and re-pointed by customer on merges
create index if not exists fct_review_date_idx on marts.fct_review (feedback_date);
create index if not exists fct_mention_date_idx on marts.fct_mention (feedback_date);
create index if not exists fct_survey_response_date_idx on marts.fct_survey_response (feedback_date);
create index if not exists fct_feedback_date_idx on marts.fct_feedback (feedback_date);
create index if not exists fct_review_customer_idx on marts.fct_review (customer_key);
create index if not exists fct_mention_customer_idx on marts.fct_mention (customer_key);
create index if not exists fct_survey_response_customer_idx on marts.fct_survey_response (customer_key);
create index if not exists fct_feedback_customer_idx on marts.fct_feedback (customer_key);
create index if not exists customer_identity_customer_idx on marts.customer_identity (customer_key);
create index if not exists stg_review_date_idx on staging.stg_review (feedback_date);
create index if not exists stg_mention_date_idx on staging.stg_mention (feedback_date);
create index if not exists stg_survey_response_date_idx on staging.stg_survey_response (feedback_date);
