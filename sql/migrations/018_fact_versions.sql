-- Version 18: each fact of a review, mention and survey response records the staging version it
-- was built from (the `_load_id` of the load that staged it). A build then rewrites, on a date it
-- has built before, only the items whose staged version differs from their fact's, or that are
-- staged or stored on one side only (sql/marts/rebuild_items.sql). A late item or an edit used to
-- rebuild its whole date: a nightly run with late items reaching 14 days back rewrote, tagged and
-- resolved some 600,000 unchanged items of a mid-size brand. Stored facts get no version: their
-- items are rewritten once, when their date is next dirty.
alter table marts.fct_review add column load_id text;
alter table marts.fct_mention add column load_id text;
alter table marts.fct_survey_response add column load_id text;
