-- Version 13, PostgreSQL only (see 013_fact_references_postgresql.sql): the facts' foreign keys,
-- as version 3 (003_star_schema.sql) named them, are dropped; their checks and not-null columns stay.
alter table marts.fct_feedback drop constraint fct_feedback_customer_key_fkey;
alter table marts.fct_feedback drop constraint fct_feedback_feedback_date_fkey;
alter table marts.fct_feedback drop constraint fct_feedback_journey_stage_fkey;
alter table marts.fct_feedback drop constraint fct_feedback_location_fkey;
alter table marts.fct_feedback drop constraint fct_feedback_product_fkey;
alter table marts.fct_feedback drop constraint fct_feedback_source_fkey;
alter table marts.fct_feedback drop constraint fct_feedback_touchpoint_fkey;
alter table marts.fct_mention drop constraint fct_mention_customer_key_fkey;
alter table marts.fct_mention drop constraint fct_mention_feedback_date_fkey;
alter table marts.fct_mention drop constraint fct_mention_source_fkey;
alter table marts.fct_review drop constraint fct_review_customer_key_fkey;
alter table marts.fct_review drop constraint fct_review_feedback_date_fkey;
alter table marts.fct_review drop constraint fct_review_location_fkey;
alter table marts.fct_review drop constraint fct_review_product_fkey;
alter table marts.fct_review drop constraint fct_review_source_fkey;
alter table marts.fct_survey_response drop constraint fct_survey_response_customer_key_fkey;
alter table marts.fct_survey_response drop constraint fct_survey_response_feedback_date_fkey;
alter table marts.fct_survey_response drop constraint fct_survey_response_journey_stage_fkey;
alter table marts.fct_survey_response drop constraint fct_survey_response_location_fkey;
alter table marts.fct_survey_response drop constraint fct_survey_response_product_fkey;
alter table marts.fct_survey_response drop constraint fct_survey_response_source_fkey;
alter table marts.fct_survey_response drop constraint fct_survey_response_touchpoint_fkey;
