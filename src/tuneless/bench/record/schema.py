"""The store's schema: its tables and columns (defined once here), its version, and the migration of a store
written by an older tuneless.

``trials`` columns: :data:`TRIAL_COLUMNS` (name -> SQLite type); ``measurements``: :data:`MEASUREMENT_COLUMNS`. The
typed rows (``rows``) have these names as fields. A store written by an older tuneless is made current when opened
(:func:`migrate`; in memory when opened read-only), so that nothing that reads a store knows of older ones; a store
written before the version existed has version 0 and the tables.
"""

from __future__ import annotations

import json
import sqlite3

__all__ = ["MEASUREMENT_COLUMNS", "SCHEMA", "SCHEMA_VERSION", "TABLES", "TRIAL_COLUMNS", "migrate"]

#: ``PRAGMA user_version`` of a tuneless store (0: a store written before the version existed; 1: before ``migrate``
#: completed the runs' configs).
SCHEMA_VERSION = 2

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
    "train_cpu_seconds": "REAL",  # added after the first stores (migrate() adds a column a store lacks)
    "cpu_seconds_to_target": "REAL",  # likewise
}

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
    """Make a store current, once: its tables, the columns added since it was written, what its runs' configs lack
    (:func:`_complete_configs`), its version. A current store is left as it is; a store being migrated by another
    connection is waited for (one write transaction)."""
    if connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
        return
    connection.execute("BEGIN IMMEDIATE")
    try:
        if connection.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:  # nobody did it meanwhile
            for statement in filter(str.strip, SCHEMA.split(";")):
                connection.execute(statement)
            present = {row[1] for row in connection.execute("PRAGMA table_info(trials)")}
            for column, kind in TRIAL_COLUMNS.items():
                if column not in present:  # a store written before the column existed: its trials read NULL there
                    connection.execute(f"ALTER TABLE trials ADD COLUMN {column} {kind}")
            _complete_configs(connection)
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def _complete_configs(connection: sqlite3.Connection) -> None:
    """Each run's config gains what runs stored before version 2 may lack: ``tune_by``, its suite's tuning measures
    (what its resume uses; ``["steps"]``, what such runs bracketed, for a suite not registered here), and
    ``method_info``, the registry's for its methods and those of its trials (a method not registered here gets
    none)."""
    from ..catalog.methods import METHODS
    from ..catalog.suites import SUITES

    for run_id, suite, text in connection.execute("SELECT run_id, suite, config FROM runs").fetchall():
        config = json.loads(text)
        filled = dict(config)
        if filled.get("tune_by") is None:
            filled["tune_by"] = list(SUITES[suite].tune_by) if suite in SUITES else ["steps"]
        if filled.get("method_info") is None:
            trials = connection.execute("SELECT DISTINCT method FROM trials WHERE run_id = ?", (run_id,))
            names = dict.fromkeys([*filled.get("methods", []), *(row[0] for row in trials)])
            filled["method_info"] = {name: METHODS[name].info() for name in names if name in METHODS}
        if filled != config:
            connection.execute(
                "UPDATE runs SET config = ? WHERE run_id = ?", (json.dumps(filled, sort_keys=True), run_id)
            )
