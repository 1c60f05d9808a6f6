-- grain: one row per source; the configured ones are upserted from sources.yml beforehand, this
-- adds any source the dirty dates still hold that is no longer configured, so facts keep their key
insert into marts.dim_source (source, family, format)
with held as (
    select distinct source, 'review' as family from staging.stg_review
    where feedback_date in (select feedback_date from ops.dirty_dates)
    union
    select distinct source, 'mention' from staging.stg_mention
    where feedback_date in (select feedback_date from ops.dirty_dates)
    union
    select distinct source, 'survey' from staging.stg_survey_response
    where feedback_date in (select feedback_date from ops.dirty_dates)
)
select source, min(family), 'unconfigured' from held
where source not in (select source from marts.dim_source)
group by source;
