"""The store's columns are defined once (``record.schema``): the rows written and the rows read have exactly those
fields, the tables exactly those columns; an older store is made current once when opened (its columns, its runs'
configs), in place when opened for writing and in memory when read-only."""

from __future__ import annotations

import dataclasses
import json
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuneless.bench.catalog.methods import METHODS
from tuneless.bench.catalog.suites import SUITES
from tuneless.bench.record.rows import Measurement, Trial, TrialFinish, TrialStart
from tuneless.bench.record.schema import MEASUREMENT_COLUMNS, SCHEMA, SCHEMA_VERSION, TRIAL_COLUMNS
from tuneless.bench.record.store import Store

ADDED_LATER = ("train_cpu_seconds", "cpu_seconds_to_target")  # the trials columns the first stores lacked


def fields(row_type: type) -> list[str]:
    return [field.name for field in dataclasses.fields(row_type)]


def test_the_rows_write_exactly_the_columns_and_read_them_back_in_their_order():
    written = fields(TrialStart) + [f for f in fields(TrialFinish) if f != "trial_id"] + ["finished"]
    assert sorted(written) == sorted(TRIAL_COLUMNS)
    assert fields(Trial) == list(TRIAL_COLUMNS)
    assert fields(Measurement) == list(MEASUREMENT_COLUMNS)


def test_a_field_written_and_read_has_one_type():
    read = {field.name: field.type for field in dataclasses.fields(Trial)}
    for row_type in (TrialStart, TrialFinish):
        for field in dataclasses.fields(row_type):
            if row_type is TrialFinish and field.name == "status":
                assert read["status"] == "str"  # a trial read may still be 'running'
            elif row_type is TrialFinish and field.name != "trial_id":  # a result: None while running
                assert read[field.name] in (field.type, f"{field.type} | None"), field.name
            else:
                assert read[field.name] == field.type, field.name


def test_the_tables_have_exactly_the_columns(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        trials = [row["name"] for row in store.connection.execute("PRAGMA table_info(trials)")]
        measurements = [row["name"] for row in store.connection.execute("PRAGMA table_info(measurements)")]
    assert trials == list(TRIAL_COLUMNS) and measurements == list(MEASUREMENT_COLUMNS)


maybe_float = st.none() | st.floats(-1e6, 1e6, allow_nan=False)


@settings(max_examples=30, deadline=None)
@given(
    peak_lr=maybe_float,
    higher=st.booleans(),
    status=st.sampled_from(["done", "failed"]),
    steps=st.none() | st.integers(0, 10**6),
    final=maybe_float,
    cpu=maybe_float,
    extra=st.dictionaries(st.sampled_from(["accuracy", "loss"]), st.floats(-1e3, 1e3, allow_nan=False)),
)
def test_a_trial_read_is_what_was_written(tmp_path_factory, peak_lr, higher, status, steps, final, cpu, extra):
    start = TrialStart("t", "r", "w", "linear", peak_lr, 3, "linear", "sgd", "loss", higher, 0.5, 100, "p", 1.5, 7)
    finish = TrialFinish("t", status, None, 2.0, steps, None, final, cpu, None)
    measurement = Measurement("t", 10, 0.25, None, 0.75, 0.01, extra)
    with Store(tmp_path_factory.mktemp("s") / "s.sqlite") as store:
        store.write_rows([start, measurement, finish])
        (trial,) = store.trials("r")
        assert store.measurements("t") == [measurement]
    assert dataclasses.asdict(trial) == {
        **dataclasses.asdict(start),
        **dataclasses.asdict(finish),
        "finished": trial.finished,
    }
    assert isinstance(trial.higher_is_better, bool) and trial.started <= trial.finished


def _old_store(path, version: int, config: dict, suite: str = "quick", trials: tuple[str, ...] = ()) -> None:
    """A store as an older tuneless wrote it: the trials table without the columns added later, ``version``, one
    run ``r`` with ``config`` and a finished trial of each method in ``trials``."""
    old = sqlite3.connect(path)
    added = "".join(f", {column} {TRIAL_COLUMNS[column]}" for column in ADDED_LATER)
    assert added in SCHEMA
    old.executescript(SCHEMA.replace(added, ""))
    old.execute("INSERT INTO runs VALUES ('r', 1.0, ?, ?)", (suite, json.dumps(config)))
    for i, method in enumerate(trials):
        old.execute(
            "INSERT INTO trials (trial_id, run_id, workload, method, seed, status, higher_is_better, budget_steps) "
            "VALUES (?, 'r', 'w', ?, 0, 'done', 1, 10)",
            (f"t{i}", method),
        )
    old.execute(f"PRAGMA user_version = {version}")
    old.commit()
    old.close()


CONFIG = {"suite": "full", "workloads": ["w"], "methods": ["linear"], "seeds": 1, "overrides": {}}


def test_an_older_store_is_made_current_once_when_opened_for_writing(tmp_path):
    path = tmp_path / "old.sqlite"
    _old_store(path, 1, CONFIG, "full", trials=("linear", "cosine", "gone-method"))
    stored = []
    for _ in range(2):  # the second opening finds nothing to migrate
        with Store(path) as store:
            trial, run = store.trial("t0"), store.run("r")
        stored.append(sqlite3.connect(path).execute("SELECT config FROM runs").fetchone()[0])
    assert stored[0] == stored[1]
    assert trial.train_cpu_seconds is None and trial.status == "done" and trial.higher_is_better is True
    connection = sqlite3.connect(path)
    assert [r[1] for r in connection.execute("PRAGMA table_info(trials)")] == list(TRIAL_COLUMNS)
    assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    # the run's config gains its suite's tuning measures and the registry's method info (a method not registered
    # here gets none), stored
    assert run.config.tune_by == list(SUITES["full"].tune_by) == ["steps", "final"]
    assert run.config.method_info == {m: METHODS[m].info() for m in ("linear", "cosine")}
    assert json.loads(stored[0])["tune_by"] == ["steps", "final"]


def test_an_older_store_opened_read_only_reads_current_and_stays_as_it_was(tmp_path):
    path = tmp_path / "old.sqlite"
    _old_store(path, 0, {**CONFIG, "tune_by": ["final"]}, "full", trials=("linear",))
    before = path.read_bytes()
    with Store(path, read_only=True) as store:
        run, (trial,) = store.run("r"), store.trials("r")
        assert run.config.tune_by == ["final"]  # what the run recorded stays
        assert run.config.method_info == {"linear": METHODS["linear"].info()}
        assert trial.cpu_seconds_to_target is None
        with pytest.raises(ValueError, match=r"store .*old\.sqlite'.*(read-only|readonly)"):
            store.finish_trial("t0", status="failed")
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["old.sqlite"]


def test_a_run_of_a_suite_not_registered_here_gets_what_such_runs_bracketed_by(tmp_path):
    path = tmp_path / "old.sqlite"
    _old_store(path, 1, {**CONFIG, "suite": "mine", "methods": []}, "mine")
    with Store(path, read_only=True) as store:
        assert store.run("r").config.tune_by == ["steps"] and store.run("r").config.method_info == {}
