-- Version 21, DuckDB only (see 021_identity_reference.sql): marts.customer_identity is re-created
-- without its foreign key, keeping its primary key and check; as in versions 10 and 12, the table
-- is copied aside first and no row is lost.

create table marts.customer_identity_v21 as select * from marts.customer_identity;
drop table marts.customer_identity;
create table marts.customer_identity (
    identity      text primary key,
    identity_kind text not null check (identity_kind in ('email', 'customer_id', 'author')),
    customer_key  text not null
);
insert into marts.customer_identity select * from marts.customer_identity_v21;
drop table marts.customer_identity_v21;
