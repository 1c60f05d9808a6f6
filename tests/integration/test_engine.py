"""The warehouse engine: DuckDB's allocator returns freed query memory early, large inserts write
their row groups at once and checkpoints wait for 128 MB of log, unless the URL says otherwise; a
URL's query is no part of the file's path."""

from pipelines.warehouse.db import make_engine


def _settings(url: str) -> dict[str, str]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "select name, value from duckdb_settings() "
            "where name like 'allocator%flush_threshold' "
            "or name in ('write_buffer_row_group_count', 'checkpoint_threshold')").all()
    engine.dispose()
    return dict(rows)


def test_duckdb_flushes_its_allocator_past_8_mb_buffers_one_row_group_and_checkpoints_past_128_mb(tmp_path):
    # DuckDB's own defaults are 128 MiB, 512 MiB, 5 row groups and 16 MiB
    assert _settings(f"duckdb:///{tmp_path / 'a' / 'warehouse.duckdb'}") == {
        "allocator_flush_threshold": "7.6 MiB", "allocator_bulk_deallocation_flush_threshold": "7.6 MiB",
        "write_buffer_row_group_count": "1", "checkpoint_threshold": "122.0 MiB"}


def test_a_setting_in_the_url_wins_and_a_path_in_it_makes_no_folder(tmp_path):
    query = f"allocator_flush_threshold=64MB&temp_directory={tmp_path}/t/x"
    url = f"duckdb:///{tmp_path / 'b' / 'warehouse.duckdb'}?{query}"
    assert _settings(url)["allocator_flush_threshold"] == "61.0 MiB"
    # the folder made is the file's, not one named after the query
    assert [p.name for p in (tmp_path / "b").iterdir() if p.is_dir()] == []


def _uncommitted_in_memory_mb(url: str) -> int:
    """MB DuckDB holds in memory for an open transaction's insert of 257,142 rows of ~107-byte text
    (two complete row groups of 122,880 and a partial one), from a union of semi-joins: the shape of
    the marts' fact inserts, which DuckDB runs in parallel rather than in order."""
    engine = make_engine(url)
    with engine.begin() as conn:
        for name, fill in (("a", "x"), ("b", "y")):
            conn.exec_driver_sql(f"create table {name} as select i, repeat('{fill}', 100) || i as t, i % 7 as d "
                                 "from range(300000) as r(i)")
        conn.exec_driver_sql("create table days as select unnest([1, 2, 3]) as d")
        conn.exec_driver_sql("create table target (i bigint, t varchar, d bigint)")
    with engine.begin() as conn:
        conn.exec_driver_sql("insert into target select * from a where d in (select d from days) "
                             "union all select * from b where d in (select d from days)")
        held = conn.exec_driver_sql("select coalesce(sum(memory_usage_bytes), 0) // 1048576 from duckdb_memory() "
                                    "where tag = 'IN_MEMORY_TABLE'").scalar_one()
    engine.dispose()
    return held


def test_a_large_insert_writes_its_complete_row_groups_before_commit(tmp_path):
    buffered = _uncommitted_in_memory_mb(f"duckdb:///{tmp_path / 'c.duckdb'}?write_buffer_row_group_count=5")
    flushed = _uncommitted_in_memory_mb(f"duckdb:///{tmp_path / 'd.duckdb'}")
    # DuckDB's default keeps both complete row groups (2 x 122,880 rows x ~107 bytes, about 25 MB) in memory
    assert buffered - flushed >= 20
