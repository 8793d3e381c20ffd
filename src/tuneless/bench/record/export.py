"""CSV export of a store's table (``tuneless bench export``)."""

from __future__ import annotations

import csv
import sqlite3
import sys
from pathlib import Path
from typing import Any

from ...output_files import atomic_path
from .errors import describe_sqlite_error

__all__ = ["export_csv"]

_ORDER = {"runs": "created", "trials": "rowid", "measurements": "trial_id, step"}


def export_csv(
    connection: sqlite3.Connection, store_path: Path, table: str, path: str | Path, run_id: str | None = None
) -> int:
    """Write ``table`` of the store open on ``connection`` (optionally one run's rows: a run in the store) to a CSV
    file (``"-"``: standard output), atomically (a temporary file renamed into place); returns the number of rows
    written."""
    order = _ORDER[table]
    if run_id is None:
        query, params = f"SELECT * FROM {table} ORDER BY {order}", ()
    elif table == "measurements":
        query = "SELECT * FROM measurements WHERE trial_id IN (SELECT trial_id FROM trials WHERE run_id = ?)"
        query, params = f"{query} ORDER BY {order}", (run_id,)
    else:
        query, params = f"SELECT * FROM {table} WHERE run_id = ? ORDER BY {order}", (run_id,)
    try:
        cursor = connection.execute(query, params)
        columns = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    except sqlite3.Error as err:
        raise ValueError(f"store {str(store_path)!r}: {describe_sqlite_error(err, True)}") from None
    if str(path) == "-":
        _write_csv(sys.stdout, columns, rows)
        sys.stdout.flush()
        return len(rows)
    with atomic_path(path) as temporary, temporary.open("w", newline="") as handle:
        _write_csv(handle, columns, rows)
    return len(rows)


def _write_csv(handle: Any, columns: list[str], rows: list[sqlite3.Row]) -> None:
    writer = csv.writer(handle)
    writer.writerow(columns)
    writer.writerows(list(row) for row in rows)
