-- Version 11 on PostgreSQL (see 011_text_hash_uuid.sql): the column changes type in place, its
-- primary key is rebuilt with it.
alter table ops.sentiment_cache alter column text_hash type uuid using text_hash::uuid;
alter table ops.theme_cache alter column text_hash type uuid using text_hash::uuid;
