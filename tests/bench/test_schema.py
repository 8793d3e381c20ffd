"""The store's columns are defined once (``record.schema``): the typed rows have exactly those fields, the tables
exactly those columns, and an older store gains the columns added since when opened for writing."""

from __future__ import annotations

import dataclasses
import sqlite3

from tuneless.bench.record.rows import Measurement, TrialFinish, TrialStart
from tuneless.bench.record.schema import ADDED_TRIAL_COLUMNS, MEASUREMENT_COLUMNS, SCHEMA, TRIAL_COLUMNS
from tuneless.bench.record.store import Store


def fields(row_type: type) -> list[str]:
    return [field.name for field in dataclasses.fields(row_type)]


def test_the_rows_write_exactly_the_columns():
    written = fields(TrialStart) + [f for f in fields(TrialFinish) if f != "trial_id"] + ["finished"]
    assert sorted(written) == sorted(TRIAL_COLUMNS)
    assert fields(Measurement) == list(MEASUREMENT_COLUMNS)


def test_the_tables_have_exactly_the_columns(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        trials = [row["name"] for row in store.connection.execute("PRAGMA table_info(trials)")]
        measurements = [row["name"] for row in store.connection.execute("PRAGMA table_info(measurements)")]
    assert trials == list(TRIAL_COLUMNS) and measurements == list(MEASUREMENT_COLUMNS)


def test_an_older_store_gains_the_added_columns_once(tmp_path):
    path = tmp_path / "old.sqlite"
    old = sqlite3.connect(path)
    added = "".join(f", {column} {TRIAL_COLUMNS[column]}" for column in ADDED_TRIAL_COLUMNS)
    assert added in SCHEMA
    old.executescript(SCHEMA.replace(added, ""))  # the trials table as the first stores had it
    old.execute("INSERT INTO trials (trial_id, run_id, status) VALUES ('t', 'r', 'done')")
    old.commit()
    assert not {"train_cpu_seconds"} & {r[1] for r in old.execute("PRAGMA table_info(trials)")}
    old.close()
    for _ in range(2):  # the second opening finds nothing to migrate
        with Store(path) as store:
            trial = store.trial("t")
    assert trial["train_cpu_seconds"] is None and trial["status"] == "done"
    columns = [r[1] for r in sqlite3.connect(path).execute("PRAGMA table_info(trials)")]
    assert columns == list(TRIAL_COLUMNS)
