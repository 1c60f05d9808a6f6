-- Merge a deduplicated batch (`incoming`, one row per natural key) into a staging table.
-- {table} and {key} come from a fixed allow-list. The latest version_at wins; ties keep the
-- stored row, so reloading the same file changes nothing.
--
-- The table is read once, for the stored versions of the batch's keys (`cx_stored`); the other
-- statements join that and the batch. DuckDB answers a join by scanning the table rather than
-- through its key's index, and the table grows with the history: four scans per batch cost
-- 180 ms on 700,000 stored mentions, one 45 ms. The delete reads the table again only when the
-- batch replaces stored rows. The caller counts `cx_stored` and drops it.

create temporary table cx_stored as
select s.source, s.{key}, s.feedback_date, i.version_at > s.version_at as replaced
from {table} as s
join incoming as i on s.source = i.source and s.{key} = i.{key};

-- the dates whose marts must be rebuilt: the new versions' dates and the dates they replace; a
-- date already dirty has its mark raised, so that a build running meanwhile leaves it dirty
insert into ops.dirty_dates (feedback_date)
with changed as (
    select i.feedback_date
    from incoming as i
    left join cx_stored as s on s.{key} = i.{key}
    where s.{key} is null or s.replaced
    union
    select feedback_date from cx_stored where replaced
)
select distinct feedback_date from changed
on conflict (feedback_date) do update set mark = ops.dirty_dates.mark + 1;

delete from {table} as s
using cx_stored as c
where c.replaced and s.source = c.source and s.{key} = c.{key};

insert into {table} ({columns})
select {columns} from incoming as i
where not exists (select 1 from cx_stored as s where s.{key} = i.{key} and not s.replaced);
