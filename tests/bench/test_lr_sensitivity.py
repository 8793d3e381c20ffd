"""The final-metric-against-peak-lr figure: which trials it plots (by hand), and the report page that shows it."""

from __future__ import annotations

import pytest

from tuneless.bench.report.figures import lr_sensitivity_points

from .trial_rows import trial_row


def _trial(method, lr, seed, final, budget=100, status="done", workload="w"):
    return trial_row(
        workload=workload, method=method, peak_lr=lr, seed=seed, final_metric=final, budget_steps=budget, status=status
    )


def test_points_are_each_seeds_final_metric_per_lr_at_the_full_budget_only():
    trials = [
        _trial("linear", 0.1, 0, 0.50),
        _trial("linear", 0.1, 1, 0.40),
        _trial("linear", 0.3, 0, 0.30),
        _trial("linear", 0.3, 1, float("nan")),  # a non-finite metric is no point
        _trial("linear", 1.0, 0, None, status="failed"),  # a failed trial is no point
        _trial("linear-quarter", 0.3, 0, 0.9, budget=25),  # another run length: left out
        _trial("transfer", 0.2, 0, 0.35),
        _trial("mechanic-linear", 1.0, 0, 0.2),  # not named: its "lr" is not a step size
        _trial("linear", 0.1, 0, 0.7, workload="v", budget=50),  # another workload, its own full budget
    ]
    points = lr_sensitivity_points(trials, ["linear", "linear-quarter", "transfer"])
    assert points == {
        "w": {"linear": {0.1: [0.5, 0.4], 0.3: [0.3]}, "transfer": {0.2: [0.35]}},
        "v": {"linear": {0.1: [0.7]}},
    }


def test_the_report_shows_the_figure_and_a_run_without_lr_methods_has_none(tmp_path):
    pytest.importorskip("matplotlib")
    from tuneless.bench.benchmark import run_benchmark
    from tuneless.bench.run.config import BenchConfig

    tiny = f"{__file__.rsplit('/', 1)[0]}/tiny_workloads.py:ShortDiabetes"
    config = BenchConfig("quick", [tiny], ["linear", "mechanic-linear"], 1, {}, lr_resolution=None)
    run_benchmark(tmp_path / "s.sqlite", config, workers=1, progress=False, out_dir=tmp_path / "out", say=print)
    page = (tmp_path / "out" / "report.html").read_text()
    assert (tmp_path / "out" / "lr_sensitivity.png").read_bytes()[:4] == b"\x89PNG"
    assert '<img src="lr_sensitivity.png"' in page
    config = BenchConfig("quick", [tiny], ["mechanic-linear"], 1, {}, lr_resolution=None)
    run_benchmark(tmp_path / "s.sqlite", config, workers=1, progress=False, out_dir=tmp_path / "out", say=print)
    page = (tmp_path / "out" / "report.html").read_text()
    assert not (tmp_path / "out" / "lr_sensitivity.png").exists() and "lr_sensitivity" not in page
