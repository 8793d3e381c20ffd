"""The store's schema: its tables and columns (defined once here), its version, and the migration of a store
written by an older tuneless.

``trials`` columns: :data:`TRIAL_COLUMNS` (name -> SQLite type); ``measurements``: :data:`MEASUREMENT_COLUMNS`. The
typed rows (``rows``) have these names as fields. A store written before a column existed gets it when opened
for writing (:func:`migrate`: its old trials read NULL there); a store written before the version existed has
version 0 and the tables.
"""

from __future__ import annotations

import sqlite3

__all__ = ["MEASUREMENT_COLUMNS", "SCHEMA", "SCHEMA_VERSION", "TABLES", "TRIAL_COLUMNS", "migrate"]

#: ``PRAGMA user_version`` of a tuneless store (0: a store written before the version existed).
SCHEMA_VERSION = 1

TABLES = ("runs", "trials", "measurements")

TRIAL_COLUMNS: dict[str, str] = {
    "trial_id": "TEXT PRIMARY KEY",
    "run_id": "TEXT",
    "workload": "TEXT",
    "method": "TEXT",
    "peak_lr": "REAL",
    "seed": "INTEGER",
    "schedule": "TEXT",
    "optimizer": "TEXT",
    "status": "TEXT",
    "error": "TEXT",
    "metric_name": "TEXT",
    "higher_is_better": "INTEGER",
    "target": "REAL",
    "budget_steps": "INTEGER",
    "steps_to_target": "INTEGER",
    "seconds_to_target": "REAL",
    "final_metric": "REAL",
    "train_seconds": "REAL",
    "prior_trial_id": "TEXT",
    "prior_seconds": "REAL DEFAULT 0",
    "prior_steps": "INTEGER DEFAULT 0",
    "started": "REAL",
    "finished": "REAL",
    "train_cpu_seconds": "REAL",  # added after the first stores: migrate() adds it
    "cpu_seconds_to_target": "REAL",  # likewise
}
ADDED_TRIAL_COLUMNS = ("train_cpu_seconds", "cpu_seconds_to_target")  # columns older stores lack

MEASUREMENT_COLUMNS: dict[str, str] = {
    "trial_id": "TEXT",
    "step": "INTEGER",
    "train_seconds": "REAL",
    "train_loss": "REAL",
    "metric": "REAL",
    "lr": "REAL",
    "extra": "TEXT",  # JSON: the other metrics evaluate returned
}


def _columns(columns: dict[str, str]) -> str:
    return ", ".join(f"{name} {kind}" for name, kind in columns.items())


SCHEMA = f"""
CREATE TABLE IF NOT EXISTS runs (run_id TEXT PRIMARY KEY, created REAL, suite TEXT, config TEXT);
CREATE TABLE IF NOT EXISTS trials ({_columns(TRIAL_COLUMNS)});
CREATE TABLE IF NOT EXISTS measurements ({_columns(MEASUREMENT_COLUMNS)}, PRIMARY KEY (trial_id, step));
CREATE INDEX IF NOT EXISTS trials_by_run ON trials (run_id);
CREATE TABLE IF NOT EXISTS claims (trial_id TEXT PRIMARY KEY, driver TEXT, host TEXT, pid INTEGER, heartbeat REAL);
"""


def migrate(connection: sqlite3.Connection) -> None:
    """Bring a store opened for writing to this schema: its tables, the columns added since it was written, its
    version (nothing changes in a store that is up to date)."""
    connection.executescript(SCHEMA)
    present = {row[1] for row in connection.execute("PRAGMA table_info(trials)")}
    for column in ADDED_TRIAL_COLUMNS:
        if column not in present:  # a store written before the column existed: its trials read NULL
            connection.execute(f"ALTER TABLE trials ADD COLUMN {column} {TRIAL_COLUMNS[column]}")
    if connection.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
