-- Version 14 on DuckDB (see 014_customer_key.sql): sha256() hashes the text's UTF-8 bytes to hex.
create or replace macro marts.customer_key(identity) as 'c_' || left(sha256(identity), 30);
