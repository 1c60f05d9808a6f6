-- Version 21, PostgreSQL only (see 021_identity_reference.sql): the foreign key version 3
-- (003_star_schema.sql) declared on marts.customer_identity, as PostgreSQL named it, is dropped;
-- the primary key, the check and the index on customer_key stay.
alter table marts.customer_identity drop constraint customer_identity_customer_key_fkey;
