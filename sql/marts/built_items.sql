-- grain: one row per item a build wrote (pipelines/warehouse/star.py), on dates built before as
-- well as on new ones: the rows the marts checks read on the dirty dates, so that a date with a
-- few late items or edits is checked for those, not for its tens of thousands of others. An item
-- deleted or moved away is listed too and simply finds no row. A duplicate of a written item's
-- key anywhere on the dirty dates shares that key, so the uniqueness check still sees both.
create temporary table tmp_built_items as
select feedback_id from tmp_rewrite
union all
select feedback_id from marts.fct_review where feedback_date in (select feedback_date from tmp_whole_dates)
union all
select feedback_id from marts.fct_mention where feedback_date in (select feedback_date from tmp_whole_dates)
union all
select feedback_id from marts.fct_survey_response
where feedback_date in (select feedback_date from tmp_whole_dates);
