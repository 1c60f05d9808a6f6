-- Merge a deduplicated batch (`incoming`, one row per natural key) into a staging table.
-- {table} and {key} come from a fixed allow-list. The latest version_at wins; ties keep the
-- stored row, so reloading the same file changes nothing.

-- the dates whose marts must be rebuilt: the new versions' dates and the dates they replace
insert into ops.dirty_dates (feedback_date)
with changed as (
    select i.feedback_date as feedback_date
    from incoming as i
    left join {table} as s on s.source = i.source and s.{key} = i.{key}
    where s.{key} is null or i.version_at > s.version_at
    union
    select s.feedback_date
    from {table} as s
    join incoming as i on s.source = i.source and s.{key} = i.{key}
    where i.version_at > s.version_at
)
select distinct feedback_date from changed
where feedback_date not in (select feedback_date from ops.dirty_dates);

delete from {table} as s
using incoming as i
where s.source = i.source and s.{key} = i.{key} and i.version_at > s.version_at;

insert into {table} ({columns})
select {columns} from incoming as i
where not exists (select 1 from {table} as s where s.source = i.source and s.{key} = i.{key});
