"""The SQLite store: WAL mode, round trips of trials and measurements, CSV export, replay of returned rows."""

from __future__ import annotations

import csv
import math
import sqlite3

import pytest

from tuneless.bench.record.rows import Measurement, TrialFinish, TrialStart
from tuneless.bench.record.store import Store

from .trial_rows import quick_config


def _trial(trial_id="t1", run_id="r1", **fields):
    row = {
        "trial_id": trial_id,
        "run_id": run_id,
        "workload": "w",
        "method": "linear",
        "peak_lr": 0.1,
        "seed": 0,
        "schedule": "warmup(linear,fraction=0.05)",
        "optimizer": "sgd",
        "metric_name": "loss",
        "higher_is_better": 0,
        "target": 0.5,
        "budget_steps": 10,
    }
    row.update(fields)
    return row


def _journal_mode(path):
    connection = sqlite3.connect(path)
    try:
        return connection.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        connection.close()


def test_wal_mode_and_round_trip(tmp_path):
    path = tmp_path / "s.sqlite"
    with Store(path) as store:
        store.create_run("r1", quick_config(2, methods=["linear"]))
        store.start_trial(_trial())
        store.add_measurement(
            {
                "trial_id": "t1",
                "step": 0,
                "train_seconds": 0.0,
                "train_loss": None,
                "metric": 2.5,
                "lr": 0.0,
                "extra": {"accuracy": 0.25},
            }
        )
        store.add_measurement(
            {
                "trial_id": "t1",
                "step": 5,
                "train_seconds": 0.125,
                "train_loss": 1.0,
                "metric": 0.25,
                "lr": 0.1,
                "extra": None,
            }
        )
        store.finish_trial(
            "t1", status="done", steps_to_target=5, seconds_to_target=0.125, final_metric=0.25, train_seconds=0.2
        )
        assert _journal_mode(path) == "wal"  # while it is open
    # the last writer leaves one self-contained file (rollback journal), which read-only openings read as it is
    assert _journal_mode(path) == "delete"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.sqlite"]
    with Store(path) as store:
        assert store.run("r1").config == quick_config(2, methods=["linear"])
        (trial,) = store.trials("r1")
        assert trial.status == "done" and trial.steps_to_target == 5 and trial.peak_lr == 0.1
        assert trial.started <= trial.finished
        rows = store.measurements("t1")
        assert [r.step for r in rows] == [0, 5]
        assert rows[0].extra == {"accuracy": 0.25} and rows[0].train_loss is None
        assert rows[1].metric == 0.25 and rows[1].extra is None


def test_rerun_replaces_rows_of_the_same_step(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        store.start_trial(_trial())
        store.add_measurement({"trial_id": "t1", "step": 3, "metric": 1.0})
        store.add_measurement({"trial_id": "t1", "step": 3, "metric": 0.5})
        assert [r.metric for r in store.measurements("t1")] == [0.5]


def test_export_csv_and_bad_table(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        store.create_run("r1", quick_config())
        store.create_run("r2", quick_config())
        store.start_trial(_trial("a", "r1"))
        store.start_trial(_trial("b", "r2"))
        for step in range(3):
            store.add_measurement({"trial_id": "a", "step": step, "metric": float(step)})
        store.add_measurement({"trial_id": "b", "step": 0, "metric": math.pi})
        assert store.export_csv("trials", tmp_path / "all.csv") == 2
        assert store.export_csv("measurements", tmp_path / "m.csv", run_id="r1") == 3
        with pytest.raises(ValueError, match="table='runz' is not a table"):
            store.export_csv("runz", tmp_path / "x.csv")
    with (tmp_path / "m.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["trial_id"], int(r["step"]), float(r["metric"])) for r in rows] == [
        ("a", 0, 0.0),
        ("a", 1, 1.0),
        ("a", 2, 2.0),
    ]


def test_write_rows_replays_a_remote_trial(tmp_path):
    rows = [
        TrialStart(**_trial("x")),
        Measurement("x", 0, 0.0, None, 3.0, 0.1),
        TrialFinish("x", "failed", "diverged: loss=nan at step 1"),
    ]
    with Store(tmp_path / "s.sqlite") as store:
        store.write_rows(rows)
        (trial,) = store.trials("r1")
        assert trial.status == "failed" and trial.error.startswith("diverged")
        assert store.measurements("x")[0].metric == 3.0
        with pytest.raises(TypeError, match="expected a TrialStart, Measurement or TrialFinish row"):
            store.write_rows([{"kind": "oops"}])


def test_errors_name_the_path(tmp_path):
    with pytest.raises(ValueError, match="is a directory"):
        Store(tmp_path)
    with Store(tmp_path / "s.sqlite") as store:
        with pytest.raises(ValueError, match="has no run to resume"):
            store.latest_run_id()
        with pytest.raises(ValueError, match="run_id 'nope' is not in the store"):
            store.run("nope")
