"""PII retention: raw.* keeps every input row verbatim (names, e-mails, free text), so it is the
one place raw PII lives; staging and the marts only hold redacted text and keyed hashes. Purging
deletes the raw rows of the business days before a date, and the verbatim records kept with the
quarantine for those days, in one transaction."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa

from pipelines.warehouse.db import table_name


def purge_raw(engine: sa.Engine, cutoff: datetime, before: date) -> dict[str, int]:
    """Delete raw rows timestamped before `cutoff` (rows without a timestamp: loaded before it) and
    blank the quarantine's raw records of business dates before `before`; returns rows per table."""
    purged: dict[str, int] = {}
    with engine.begin() as conn:
        names = conn.execute(sa.text(
            "select table_name from information_schema.tables where table_schema = 'raw' order by 1")).scalars()
        for name in list(names):
            table = table_name("raw", name)
            purged[table] = conn.execute(sa.text(
                f"delete from {table} where coalesce(item_at, _loaded_at) < :cutoff"), {"cutoff": cutoff}).rowcount
        purged["ops.quarantine"] = conn.execute(sa.text(
            "update ops.quarantine set raw_record = null where business_date < :before and raw_record is not null"),
            {"before": before}).rowcount
    return purged
