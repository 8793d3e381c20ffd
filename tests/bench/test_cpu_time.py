"""The CPU-time measure: each trial's own CPU seconds over its training steps, stored and scored."""

from __future__ import annotations

import json
import os
import sqlite3

from tuneless.bench.catalog.methods import TrialConfig
from tuneless.bench.record.store import Store
from tuneless.bench.report import write_report
from tuneless.bench.run.runner import TrialTask, run_trial
from tuneless.bench.score.scoring import CPU_MEASURE, score_trials

from .trial_rows import quick_config

TINY = f"{os.path.dirname(__file__)}/tiny_workloads.py"


def test_trial_records_its_cpu_seconds_and_they_are_scored(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        store.create_run("r", quick_config(1))
        for lr, tid in ((0.01, "slow"), (0.03, "fast")):
            task = TrialTask(
                "r", tid, f"{TINY}:ShortDiabetes", {"target": 0.9}, "cosine",
                TrialConfig(lr, "sgd(momentum=0.9)", "warmup(cosine,fraction=0.05)"), seed=0, threads=1,
            )  # fmt: skip
            store.write_rows(run_trial(task))
        trials = store.trials("r")
    for trial in trials:
        cpu, wall = trial.train_cpu_seconds, trial.train_seconds
        assert 0 < cpu <= wall * 1.5 + 0.05  # one torch thread: CPU time cannot much exceed wall time
        if trial.steps_to_target is not None:
            assert 0 < trial.cpu_seconds_to_target <= cpu
    scored = score_trials(trials)
    assert set(scored.scores) == {"steps", "seconds", CPU_MEASURE}
    result = scored.results["diabetes-short"]["cosine"]
    cpu_times = [t.cpu_seconds_to_target for t in trials]
    assert result.cpu_seconds_to_target == min(float("inf") if c is None else c for c in cpu_times)  # one seed
    html_path = write_report(tmp_path / "s.sqlite", "r", tmp_path / "out")
    assert "score (CPU time)" in html_path.read_text()
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["scores"]["cosine"]["cpu_time"] == scored.scores[CPU_MEASURE]["cosine"]


def test_a_store_from_before_cpu_times_gets_the_columns_and_is_scored_without_them(tmp_path):
    path = tmp_path / "old.sqlite"
    connection = sqlite3.connect(path)
    connection.execute(
        "CREATE TABLE trials (trial_id TEXT PRIMARY KEY, run_id TEXT, workload TEXT, method TEXT, peak_lr REAL, "
        "seed INTEGER, status TEXT, higher_is_better INTEGER, target REAL, budget_steps INTEGER, metric_name TEXT, "
        "steps_to_target INTEGER, seconds_to_target REAL, final_metric REAL, train_seconds REAL)"
    )
    connection.execute("CREATE TABLE runs (run_id TEXT PRIMARY KEY, created REAL, suite TEXT, config TEXT)")
    connection.execute(
        "CREATE TABLE measurements (trial_id TEXT, step INTEGER, train_seconds REAL, train_loss REAL, metric REAL, "
        "lr REAL, extra TEXT)"
    )
    connection.execute(
        "INSERT INTO trials VALUES ('t', 'r', 'w', 'linear', 0.1, 0, 'done', 1, 0.5, 10, 'acc', 5, 0.2, 0.6, 0.3)"
    )
    connection.commit()
    connection.close()
    with Store(path) as store:
        (trial,) = store.trials("r")
    assert trial.train_cpu_seconds is None and trial.cpu_seconds_to_target is None
    assert set(score_trials([trial]).scores) == {"steps", "seconds"}
