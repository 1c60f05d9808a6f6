"""Warehouse access: engines, migrations, SQL files and bulk loads for DuckDB and PostgreSQL."""

from pipelines.warehouse.db import (
    ensure_raw_table,
    frame_as_table,
    insert_frame,
    is_duckdb,
    make_engine,
    migrate,
    run_sql_file,
)

__all__ = [
    "ensure_raw_table",
    "frame_as_table",
    "insert_frame",
    "is_duckdb",
    "make_engine",
    "migrate",
    "run_sql_file",
]
