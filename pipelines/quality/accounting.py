"""Row accounting: every input row is loaded, quarantined or a duplicate, and the counts must add up.

The three outcomes are counted independently of one another — loaded and duplicate-of-a-stored-row
by the merge's own comparison with staging, duplicates within the delivery from the natural keys,
quarantined from validation — so a stage that silently drops or invents a row breaks the balance
and fails the run instead of hiding in a difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from pipelines.errors import RunError


@dataclass
class Tally:
    """Running counts of one source's day."""

    rows_in: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0

    def add(self, rows_in: int, loaded: int, quarantined: int, duplicate: int) -> None:
        self.rows_in += rows_in
        self.rows_loaded += loaded
        self.rows_quarantined += quarantined
        self.rows_duplicate += duplicate

    @property
    def accounted(self) -> int:
        return self.rows_loaded + self.rows_quarantined + self.rows_duplicate


def check_balance(source: str, tally: Tally) -> None:
    """Raise RunError unless rows_in = rows_loaded + rows_quarantined + rows_duplicate."""
    if tally.accounted != tally.rows_in:
        raise RunError(
            f"{source}: row accounting does not balance: {tally.rows_in:,} in, but {tally.rows_loaded:,} loaded "
            f"+ {tally.rows_quarantined:,} quarantined + {tally.rows_duplicate:,} duplicate = {tally.accounted:,}"
        )


def record_accounting(conn: sa.Connection, run_id: str, source: str, day: date, tally: Tally) -> None:
    """Check the balance, then store it in ops.row_accounting (in the caller's transaction)."""
    check_balance(source, tally)
    conn.execute(
        sa.text("insert into ops.row_accounting (run_id, source, business_date, rows_in, rows_loaded, "
                "rows_quarantined, rows_duplicate) values (:run_id, :source, :day, :rows_in, :loaded, "
                ":quarantined, :duplicate)"),
        {"run_id": run_id, "source": source, "day": day, "rows_in": tally.rows_in, "loaded": tally.rows_loaded,
         "quarantined": tally.rows_quarantined, "duplicate": tally.rows_duplicate},
    )
