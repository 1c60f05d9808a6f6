-- Moves the stored term counts of dates built before by tmp_term_delta (feedback_date, term,
-- docs: texts of rewritten items that hold the term now, less those that held it before;
-- pipelines/warehouse/star.py, move_term_counts). A term no text of the date holds any more
-- loses its row, as a count from the texts would not write it.
create temporary table tmp_term_after as
with summed as (
    select c.feedback_date, c.term, c.docs
    from marts.term_day_counts as c
    join tmp_term_delta as d on d.feedback_date = c.feedback_date and d.term = c.term
    union all
    select feedback_date, term, docs from tmp_term_delta
)
select feedback_date, term, sum(docs) as docs
from summed
group by feedback_date, term
having sum(docs) > 0;

delete from marts.term_day_counts as c
using tmp_term_delta as d
where c.feedback_date = d.feedback_date and c.term = d.term;

insert into marts.term_day_counts (feedback_date, term, docs)
select feedback_date, term, docs from tmp_term_after;

drop table tmp_term_after;
