-- The identity graph of the items a build rewrites (rebuild_items.sql), numbered for
-- pipelines/warehouse/identity.py, which reads only the numbers (item_no, node_no, customer_no)
-- and finds the connected components; the identifiers themselves stay in the warehouse (as
-- strings in Python they were the largest part of the mart stage's peak). Views, except for the small tmp_identity_known: DuckDB frees a
-- temporary table created in a transaction only when it ends, and the marts transaction lasts the
-- whole stage. e-mail and customer id link across sources; an author handle only within its own
-- source (display names collide).

-- grain: one row per (item, identifier)
create temporary view tmp_identity_edges as
with reviews as (
    select source || ':' || review_id as feedback_id, email_hash, customer_id_hash,
        source || ':' || author_hash as author
    from tmp_rebuilt_reviews
),
mentions as (
    select source || ':' || mention_id, email_hash, customer_id_hash, source || ':' || author_hash
    from tmp_rebuilt_mentions
),
responses as (
    select source || ':' || response_id, email_hash, customer_id_hash, source || ':' || respondent_hash
    from tmp_rebuilt_responses
),
items as (
    select * from reviews
    union all
    select * from mentions
    union all
    select * from responses
),
final as (
    select feedback_id, 'email' as identity_kind, 'email:' || email_hash as identity
    from items where email_hash is not null
    union all
    select feedback_id, 'customer_id', 'customer_id:' || customer_id_hash
    from items where customer_id_hash is not null
    union all
    select feedback_id, 'author', 'author:' || author
    from items where author is not null
)
select feedback_id, identity_kind, identity from final;

-- grain: one row per stored identifier of the customers the items touch; a table, because it is
-- small and read five times, which as a view would each scan every identifier stored
create temporary table tmp_identity_known as
select k.identity, k.identity_kind, k.customer_key
from marts.customer_identity as k
where k.customer_key in (
    select c.customer_key from marts.customer_identity as c
    where c.identity in (select identity from tmp_identity_edges)
);

-- grain: one row per identifier of the graph, node_no numbering them from 0 in byte order,
-- whatever the database's collation (an en_US one sorts '_' before ':'): the smallest node of a
-- component is its smallest identifier, which keys the customer
create temporary view tmp_identity_nodes as
with identities as (
    select identity, identity_kind from tmp_identity_edges
    union
    select identity, identity_kind from tmp_identity_known
)
select row_number() over (order by identity collate "C") - 1 as node_no, identity, identity_kind
from identities;
