-- a negative interaction has one span: PostgreSQL keeps the marts' keys (version 10 dropped DuckDB's)
alter table marts.risk_spans add primary key (feedback_id);
