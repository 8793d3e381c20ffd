"""The runner end to end on real (tiny) workloads: rows in the store, divergence, crashes, user workloads."""

from __future__ import annotations

import math

import pytest

from tuneless.bench.benchmark import run_benchmark
from tuneless.bench.catalog.methods import TrialConfig
from tuneless.bench.cli import register  # noqa: F401  (the CLI module imports)
from tuneless.bench.record.rows import Measurement, TrialFinish, TrialStart
from tuneless.bench.record.store import Store
from tuneless.bench.run.config import BenchConfig
from tuneless.bench.run.runner import TrialTask, run_trial
from tuneless.cli import main

from .conftest import EXAMPLE_REF

TINY = f"{__file__.rsplit('/', 1)[0]}/tiny_workloads.py"


def _config(workload: str, methods, seeds=1, **overrides) -> BenchConfig:
    return BenchConfig("quick", [workload], list(methods), seeds, {workload: overrides})


def test_tiny_suite_end_to_end(tmp_path):
    store_path = tmp_path / "s.sqlite"
    config = _config(f"{TINY}:ShortDiabetes", ["constant", "cosine", "schedulefree"], seeds=2)
    run_id = run_benchmark(store_path, config, workers=2, progress=False)
    with Store(store_path) as store:
        trials = store.trials(run_id)
        assert len(trials) == 3 * 2 * 2  # methods x peak lrs x seeds
        assert {t.status for t in trials} == {"done"}
        for trial in trials:
            rows = store.measurements(trial.trial_id)
            assert [r.step for r in rows] == [0, 10, 20, 30, 40, 50, 60]
            assert trial.final_metric == rows[-1].metric
            times = [r.train_seconds for r in rows]
            assert times == sorted(times) and times[-1] == pytest.approx(trial.train_seconds)
            met = [r for r in rows if r.metric <= trial.target]
            if met:  # the first evaluation that meets the target, and the training time at it
                assert trial.steps_to_target == met[0].step
                assert trial.seconds_to_target == met[0].train_seconds
            else:
                assert trial.steps_to_target is None and trial.seconds_to_target is None
        # the lr logged is the schedule's: warmup(cosine) ends at zero, schedule-free keeps its peak lr
        last = {t.method: store.measurements(t.trial_id)[-1].lr for t in trials}
        assert last["cosine"] == 0.0 and last["constant"] > 0.0


def test_huge_learning_rate_fails_and_the_suite_finishes(tmp_path):
    store_path = tmp_path / "s.sqlite"
    config = _config(f"{TINY}:ShortDiabetes", ["constant", "cosine"], peak_lrs=(0.01, 1e6))
    run_id = run_benchmark(store_path, config, workers=2, progress=False)
    with Store(store_path) as store:
        by_lr = {(t.method, t.peak_lr): t for t in store.trials(run_id)}
    for method in ("constant", "cosine"):
        bad, good = by_lr[(method, 1e6)], by_lr[(method, 0.01)]
        assert bad.status == "failed" and bad.error.startswith("diverged: ")
        assert bad.steps_to_target is None and bad.final_metric is None
        assert good.status == "done" and math.isfinite(good.final_metric)


def test_exception_and_dead_process_are_failed_trials(tmp_path):
    store_path = tmp_path / "s.sqlite"
    for name in ("RaisingDiabetes", "DyingDiabetes"):
        config = _config(f"{TINY}:{name}", ["constant"], seeds=2)
        run_id = run_benchmark(store_path, config, workers=2, progress=False)
        with Store(store_path) as store:
            trials = {t.seed: [x for x in store.trials(run_id) if x.seed == t.seed] for t in store.trials(run_id)}
        assert {t.status for t in trials[0]} == {"done"}
        assert {t.status for t in trials[1]} == {"failed"}
        expected = "RuntimeError: boom at step 7" if name == "RaisingDiabetes" else "died with exit code 3"
        assert all(expected in t.error for t in trials[1])


def test_run_trial_returns_rows_without_a_store(tmp_path):
    """The remote-executor path: no store, the rows come back and replay into a store identically."""
    task = TrialTask(
        "r",
        "t1",
        f"{TINY}:ShortDiabetes",
        {},
        "cosine",
        TrialConfig(0.01, "sgd(momentum=0.9)", "warmup(cosine,fraction=0.05)"),
        seed=0,
    )
    rows = run_trial(task)
    assert [type(r) for r in rows] == [TrialStart] + [Measurement] * 7 + [TrialFinish]
    assert (rows[0].workload, rows[0].metric_name, rows[0].budget_steps) == ("diabetes-short", "val_mse", 60)
    with Store(tmp_path / "s.sqlite") as store:
        store.write_rows(rows)
        (trial,) = store.trials("r")
        assert trial.status == "done" and len(store.measurements("t1")) == 7


def test_user_workload_from_the_docs_through_the_cli(tmp_path, capsys):
    store_path, out = tmp_path / "s.sqlite", tmp_path / "out"
    status = main(
        [
            "bench",
            "--workload",
            EXAMPLE_REF,
            "--methods",
            "linear",
            "cosine",
            "--seeds",
            "1",
            "--store",
            str(store_path),
            "--out",
            str(out),
            "--no-progress",
            "--workers",
            "2",
            "--grid-only",  # method-fair tuning: tests/bench/test_lr_bracketing.py
        ]
    )
    assert status == 0
    with Store(store_path) as store:
        trials = store.trials(store.latest_run_id())
    assert {t.workload for t in trials} == {"diabetes"} and len(trials) == 2 * 4
    assert {t.status for t in trials} == {"done"}
    assert any(t.steps_to_target is not None for t in trials)  # the example's target is reachable
    csv_path = tmp_path / "trials.csv"
    assert main(["bench", "export", "--store", str(store_path), "-o", str(csv_path)]) == 0
    assert len(csv_path.read_text().splitlines()) == 1 + len(trials)


def test_cli_errors(tmp_path, capsys):
    assert main(["bench", "--suite", "huge", "--store", str(tmp_path / "s.sqlite")]) == 2
    assert "suite='huge' is unknown" in capsys.readouterr().err
    assert main(["bench", "--methods", "cosine", "adagrad", "--store", str(tmp_path / "s.sqlite")]) == 2
    assert "unknown method(s) ['adagrad']" in capsys.readouterr().err
    workload = ["--workload", f"{TINY}:ShortDiabetes", "--store", str(tmp_path / "w.sqlite")]
    assert main(["bench", *workload, "--workers", "0"]) == 2
    assert "--workers 0: must be a positive integer" in capsys.readouterr().err
    assert main(["bench", "--resume", "--store", str(tmp_path / "t.sqlite")]) == 2
    assert "has no run to resume" in capsys.readouterr().err
    assert main(["bench", "export", "--store", str(tmp_path / "none.sqlite"), "-o", "x.csv"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_missing_data_skips_the_workload_with_the_package_name(tmp_path, monkeypatch):
    from tuneless.bench.catalog.workloads import fashion_mnist

    monkeypatch.setattr(fashion_mnist, "FASHION_MNIST_DIR", tmp_path / "nowhere")
    messages = []
    config = BenchConfig("quick", ["fashion-mlp", f"{TINY}:ShortDiabetes"], ["constant"], 1, {})
    run_id = run_benchmark(tmp_path / "s.sqlite", config, workers=2, progress=False, say=messages.append)
    assert any("skipping workload fashion-mlp" in m and "dataset-fashion-mnist" in m for m in messages)
    with Store(tmp_path / "s.sqlite") as store:
        assert {t.workload for t in store.trials(run_id)} == {"diabetes-short"}


def test_list_shows_workloads_methods_and_suites(capsys):
    assert main(["bench", "list"]) == 0
    out = capsys.readouterr().out
    for name in ("logreg-iris", "lm-stdlib", "refined", "schedulefree", "quick", "full"):
        assert name in out
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.startswith("│ ")}
    assert "train_loss_gap ↓" in rows["logreg-iris"] and "test_accuracy ↑" in rows["fashion-cnn"]
    assert rows["lm-stdlib"].split("│")[3].strip() == "600"  # the workload's own budget (the full suite's)


def test_list_names_an_unavailable_workload_and_why(capsys, monkeypatch):
    from tuneless.bench.catalog.workloads import fashion_mnist

    monkeypatch.setattr(fashion_mnist.FashionCNN, "unavailable_reason", lambda self: "no data today")
    assert main(["bench", "list"]) == 0
    out = capsys.readouterr().out
    assert "fashion-cnn (unavailable)" in out and "fashion-cnn: unavailable: no data today" in out
