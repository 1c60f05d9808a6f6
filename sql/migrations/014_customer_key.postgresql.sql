-- Version 14 on PostgreSQL (see 014_customer_key.sql): sha256() takes bytes, hence convert_to.
create or replace function marts.customer_key(identity text) returns text
    language sql immutable strict parallel safe
    as $$ select 'c_' || left(encode(sha256(convert_to(identity, 'UTF8')), 'hex'), 30) $$;
