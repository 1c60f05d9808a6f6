"""The warehouse engine: DuckDB's allocator returns freed query memory early and large inserts write
their row groups at once, unless the URL says otherwise; a URL's query is no part of the file's path."""

from pipelines.warehouse.db import make_engine


def _settings(url: str) -> dict[str, str]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "select name, value from duckdb_settings() "
            "where name like 'allocator%flush_threshold' or name = 'write_buffer_row_group_count'").all()
    engine.dispose()
    return dict(rows)


def test_duckdb_flushes_its_allocator_past_8_mb_and_buffers_one_row_group(tmp_path):
    # DuckDB's own defaults are 128 MiB, 512 MiB and 5 row groups
    assert _settings(f"duckdb:///{tmp_path / 'a' / 'warehouse.duckdb'}") == {
        "allocator_flush_threshold": "7.6 MiB", "allocator_bulk_deallocation_flush_threshold": "7.6 MiB",
        "write_buffer_row_group_count": "1"}


def test_a_setting_in_the_url_wins_and_a_path_in_it_makes_no_folder(tmp_path):
    query = f"allocator_flush_threshold=64MB&temp_directory={tmp_path}/t/x"
    url = f"duckdb:///{tmp_path / 'b' / 'warehouse.duckdb'}?{query}"
    assert _settings(url)["allocator_flush_threshold"] == "61.0 MiB"
    # the folder made is the file's, not one named after the query
    assert [p.name for p in (tmp_path / "b").iterdir() if p.is_dir()] == []
