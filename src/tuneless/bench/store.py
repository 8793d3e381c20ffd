"""The benchmark store: one SQLite file (WAL mode) with tables ``runs``, ``trials`` and ``measurements``.

Every trial process opens its own connection and writes its rows as it goes, one short transaction per row, so a
``kill -9`` loses at most the row being written. WAL mode lets the trial processes write while the driver reads;
``busy_timeout`` makes concurrent writers wait instead of failing. The schema is the contract with scoring and
the report: they only read it.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .rows import Measurement, StoreRow, TrialFinish, TrialStart

__all__ = ["SCHEMA", "Store", "TABLES"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (run_id TEXT PRIMARY KEY, created REAL, suite TEXT, config TEXT);
CREATE TABLE IF NOT EXISTS trials (
  trial_id TEXT PRIMARY KEY,
  run_id TEXT, workload TEXT, method TEXT, peak_lr REAL, seed INTEGER,
  schedule TEXT, optimizer TEXT,
  status TEXT, error TEXT,
  metric_name TEXT, higher_is_better INTEGER, target REAL, budget_steps INTEGER,
  steps_to_target INTEGER, seconds_to_target REAL, final_metric REAL, train_seconds REAL,
  prior_trial_id TEXT, prior_seconds REAL DEFAULT 0, prior_steps INTEGER DEFAULT 0,
  started REAL, finished REAL, train_cpu_seconds REAL, cpu_seconds_to_target REAL);
CREATE TABLE IF NOT EXISTS measurements (
  trial_id TEXT, step INTEGER, train_seconds REAL, train_loss REAL, metric REAL, lr REAL, extra TEXT,
  PRIMARY KEY (trial_id, step));
CREATE INDEX IF NOT EXISTS trials_by_run ON trials (run_id);
"""

TABLES = ("runs", "trials", "measurements")
TRIAL_COLUMNS = (
    "trial_id run_id workload method peak_lr seed schedule optimizer status error metric_name higher_is_better "
    "target budget_steps steps_to_target seconds_to_target final_metric train_seconds prior_trial_id prior_seconds "
    "prior_steps started finished train_cpu_seconds cpu_seconds_to_target"
).split()
ADDED_TRIAL_COLUMNS = {"train_cpu_seconds": "REAL", "cpu_seconds_to_target": "REAL"}  # added to older stores
MEASUREMENT_COLUMNS = ("trial_id", "step", "train_seconds", "train_loss", "metric", "lr", "extra")


class Store:
    """A benchmark store at ``path`` (created with its tables if missing).

    Open one ``Store`` per process; never share a connection across ``fork``.
    """

    def __init__(self, path: str | Path, busy_timeout_s: float = 120.0) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise ValueError(f"store path={str(self.path)!r} is a directory: give a file path such as bench.sqlite")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.connection = sqlite3.connect(self.path, timeout=busy_timeout_s, isolation_level=None)
        self.connection.row_factory = sqlite3.Row
        self.connection.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        self.connection.execute("PRAGMA journal_mode = WAL")
        self.connection.execute("PRAGMA synchronous = NORMAL")
        self.connection.executescript(SCHEMA)
        present = {row["name"] for row in self.connection.execute("PRAGMA table_info(trials)")}
        for column, kind in ADDED_TRIAL_COLUMNS.items():
            if column not in present:  # a store written before the column existed: its trials read NULL
                self.connection.execute(f"ALTER TABLE trials ADD COLUMN {column} {kind}")

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # runs -------------------------------------------------------------------------------------------------------
    def create_run(self, run_id: str, suite: str, config: Mapping[str, Any]) -> None:
        self.connection.execute(
            "INSERT INTO runs (run_id, created, suite, config) VALUES (?, ?, ?, ?)",
            (run_id, time.time(), suite, json.dumps(config, sort_keys=True)),
        )

    def run(self, run_id: str) -> dict[str, Any]:
        row = self.connection.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            known = [r["run_id"] for r in self.connection.execute("SELECT run_id FROM runs ORDER BY created")]
            raise ValueError(f"run_id {run_id!r} is not in the store {str(self.path)!r}; runs there: {known}")
        out = dict(row)
        out["config"] = json.loads(out["config"])
        return out

    def latest_run_id(self) -> str:
        row = self.connection.execute("SELECT run_id FROM runs ORDER BY created DESC LIMIT 1").fetchone()
        if row is None:
            raise ValueError(f"the store {str(self.path)!r} has no run to resume")
        return row["run_id"]

    # trials -----------------------------------------------------------------------------------------------------
    def start_trial(self, row: Mapping[str, Any]) -> None:
        """Insert (or, for an interrupted trial being rerun, replace) the trial's row with status 'running'."""
        values = {c: row.get(c) for c in TRIAL_COLUMNS}
        values["status"] = "running"
        values["started"] = values["started"] or time.time()
        cols = ", ".join(TRIAL_COLUMNS)
        marks = ", ".join("?" for _ in TRIAL_COLUMNS)
        self.connection.execute(
            f"INSERT OR REPLACE INTO trials ({cols}) VALUES ({marks})", [values[c] for c in TRIAL_COLUMNS]
        )

    def finish_trial(self, trial_id: str, **fields: Any) -> None:
        """Set the result fields (status, error, steps_to_target, ...) and ``finished`` of a trial."""
        unknown = set(fields) - set(TRIAL_COLUMNS)
        if unknown:
            raise ValueError(f"finish_trial: unknown trial columns {sorted(unknown)}")
        fields.setdefault("finished", time.time())
        assignments = ", ".join(f"{k} = ?" for k in fields)
        self.connection.execute(f"UPDATE trials SET {assignments} WHERE trial_id = ?", [*fields.values(), trial_id])

    def trials(self, run_id: str) -> list[dict[str, Any]]:
        rows = self.connection.execute("SELECT * FROM trials WHERE run_id = ? ORDER BY rowid", (run_id,))
        return [dict(r) for r in rows]

    def trial(self, trial_id: str) -> dict[str, Any] | None:
        row = self.connection.execute("SELECT * FROM trials WHERE trial_id = ?", (trial_id,)).fetchone()
        return None if row is None else dict(row)

    # measurements -----------------------------------------------------------------------------------------------
    def add_measurement(self, row: Mapping[str, Any]) -> None:
        """One evaluation of a trial; a rerun of an interrupted trial replaces the row of the same step."""
        values = [row.get(c) for c in MEASUREMENT_COLUMNS]
        extra = row.get("extra")
        values[-1] = None if extra is None else json.dumps(extra, sort_keys=True)
        self.connection.execute(
            f"INSERT OR REPLACE INTO measurements ({', '.join(MEASUREMENT_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            values,
        )

    def measurements(self, trial_id: str) -> list[dict[str, Any]]:
        rows = self.connection.execute("SELECT * FROM measurements WHERE trial_id = ? ORDER BY step", (trial_id,))
        out = [dict(r) for r in rows]
        for row in out:
            row["extra"] = None if row["extra"] is None else json.loads(row["extra"])
        return out

    def write_rows(self, rows: Iterable[StoreRow]) -> None:
        """Replay the rows a remote trial returned (see ``runner.run_trial``) into this store."""
        for row in rows:
            if isinstance(row, TrialStart):
                self.start_trial(row.columns())
            elif isinstance(row, Measurement):
                self.add_measurement(row.columns())
            elif isinstance(row, TrialFinish):
                self.finish_trial(row.trial_id, **row.result_columns())
            else:
                raise TypeError(f"cannot write {row!r}: expected a TrialStart, Measurement or TrialFinish row")

    # export -----------------------------------------------------------------------------------------------------
    def export_csv(self, table: str, path: str | Path, run_id: str | None = None) -> int:
        """Write ``table`` (optionally one run's rows) to a CSV file; returns the number of rows written."""
        if table not in TABLES:
            raise ValueError(f"table={table!r} is not a table of the store; choose one of {list(TABLES)}")
        order = {"runs": "created", "trials": "rowid", "measurements": "trial_id, step"}[table]
        if run_id is None:
            query, params = f"SELECT * FROM {table} ORDER BY {order}", ()
        elif table == "measurements":
            query = "SELECT * FROM measurements WHERE trial_id IN (SELECT trial_id FROM trials WHERE run_id = ?)"
            query, params = f"{query} ORDER BY {order}", (run_id,)
        else:
            query, params = f"SELECT * FROM {table} WHERE run_id = ? ORDER BY {order}", (run_id,)
        cursor = self.connection.execute(query, params)
        columns = [d[0] for d in cursor.description]
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        count = 0
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            for row in cursor:
                writer.writerow(list(row))
                count += 1
        return count
