"""Method-fair tuning: the bracketing rule, its replay from stored results, no rerun, resume after kill -9."""

from __future__ import annotations

import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuneless.bench.benchmark import run_benchmark
from tuneless.bench.record.store import Store
from tuneless.bench.run.config import BenchConfig
from tuneless.bench.run.lr_bracketing import (
    MAX_EDGE_STEPS,
    MAX_EXTRA_TRIALS,
    check_resolution,
    next_peak_lrs,
    next_round,
    round_lr,
)

from .trial_rows import trial_row

TINY = f"{os.path.dirname(__file__)}/tiny_workloads.py"
GRID = (0.03, 0.1, 0.3, 1.0, 3.0, 10.0)


def test_interior_best_gets_both_geometric_midpoints():
    assert next_peak_lrs(GRID, GRID, 0.3) == [round_lr(math.sqrt(0.3 * 1.0)), round_lr(math.sqrt(0.1 * 0.3))]
    assert next_peak_lrs(GRID, GRID, 0.3) == [0.5477, 0.1732]  # the wider gap (1 / 0.3 = 3.33) first
    # bracketed within 1.5 on both sides: nothing more
    assert next_peak_lrs(GRID, [*GRID, 0.25, 0.4], 0.3) == []
    # one side bracketed, the other not
    assert next_peak_lrs(GRID, [*GRID, 0.4], 0.3) == [0.1732]


def test_edge_best_extends_the_grid_by_one_step_up_to_the_cap():
    assert next_peak_lrs(GRID, GRID, 10.0) == [round_lr(10.0 * 10.0 / 3.0)]
    assert next_peak_lrs(GRID, GRID, 0.03) == [round_lr(0.03 / (0.1 / 0.03))]
    outside = [0.03 / 3.333**k for k in range(1, MAX_EDGE_STEPS + 1)]
    assert next_peak_lrs(GRID, [*GRID, *outside], min(outside)) == []  # edge cap reached: stop


def test_an_edge_best_walks_four_grid_steps_out_then_stops():
    # the long suite's LM grid (a factor sqrt(3) apart, centred on 0.03) when the best stays the lowest lr tried:
    # four steps reach a factor 9 below the grid (the optimum moved about 4x down from 600 to 2400 steps)
    grid, tried, walked = [0.01732, 0.03, 0.05196], [0.01732, 0.03, 0.05196], []
    while proposal := next_peak_lrs(grid, tried, min(tried)):
        walked += proposal
        tried += proposal
    assert walked == [0.009999, 0.005773, 0.003333, 0.001924]


def test_trial_cap_and_bad_resolution():
    extra = [0.2, 0.4, 0.5, 0.6, 0.7, 0.8][:MAX_EXTRA_TRIALS]
    assert next_peak_lrs(GRID, [*GRID, *extra], 0.3, resolution=1.01) == []
    assert next_peak_lrs(GRID, GRID, 0.3, max_extra=1) == [0.5477]  # the wider gap when only one fits
    assert next_peak_lrs((0.1,), (0.1,), 0.1) == []  # one grid point: no grid step to bracket with
    for bad in (1.0, 0.5, -2, float("nan"), float("inf"), True, "1.5"):
        with pytest.raises(ValueError, match="lr_resolution"):
            check_resolution(bad)


def _simulate(grid, optimum, resolution, max_extra=MAX_EXTRA_TRIALS):
    """Run the rounds on a unimodal objective in log(lr) (the best trial is the lr closest to the optimum)."""
    finished = {}

    def best_of(records):
        return min(records, key=lambda r: (abs(math.log(r.peak_lr / optimum)), r.peak_lr))

    rounds = 0
    while True:
        missing = next_round(grid, finished, [best_of], resolution, max_extra)
        if not missing and all(lr in finished for lr in grid):
            return finished, best_of(list(finished.values())).peak_lr, rounds
        for lr in missing or grid:
            assert lr not in finished  # never proposes a finished trial
            finished[lr] = trial_row(peak_lr=lr)
        rounds += 1 if missing else 0


@settings(max_examples=200, deadline=None)
@given(
    log_optimum=st.floats(-5, 3),
    resolution=st.floats(1.1, 3.0),
    grid_ratio=st.sampled_from([3.0, math.sqrt(10), 10.0]),
    points=st.integers(2, 6),
    max_extra=st.integers(0, 8),
)
def test_always_brackets_the_best_or_stops_at_a_cap(log_optimum, resolution, grid_ratio, points, max_extra):
    grid = [round_lr(1e-2 * grid_ratio**k) for k in range(points)]
    finished, best, _ = _simulate(grid, 10**log_optimum, resolution, max_extra)
    tried = sorted(finished)
    extra = len(tried) - len(grid)
    assert extra <= max_extra
    index = tried.index(best)
    bracketed = (
        0 < index < len(tried) - 1
        and best / tried[index - 1] <= resolution * 1.001
        and tried[index + 1] / best <= resolution * 1.001
    )
    edge_cap = (index == 0 and sum(lr < grid[0] for lr in tried) == MAX_EDGE_STEPS) or (
        index == len(tried) - 1 and sum(lr > grid[-1] for lr in tried) == MAX_EDGE_STEPS
    )
    assert bracketed or extra == max_extra or edge_cap
    if bracketed:  # the bracket contains the optimum: the best is the closest tried lr to it
        assert tried[index - 1] <= 10**log_optimum * 1.0001 or tried[index + 1] >= 10**log_optimum / 1.0001


def test_half_decade_grid_needs_four_trials_for_an_interior_optimum():
    finished, best, rounds = _simulate(GRID, 0.3, 1.5)
    assert sorted(set(finished) - set(GRID)) == [0.1732, 0.2279, 0.4054, 0.5477]
    assert best == 0.3 and rounds == 2


def test_replay_proposes_only_unfinished_lrs_of_the_current_round():
    def best_of(records):
        return min(records, key=lambda r: abs(math.log(r.peak_lr / 0.3)))

    grid_only = {lr: trial_row(peak_lr=lr) for lr in GRID}
    assert next_round(GRID, grid_only, [best_of]) == [0.5477, 0.1732]
    half_round = {**grid_only, 0.5477: trial_row(peak_lr=0.5477)}  # killed after one of the two
    assert next_round(GRID, half_round, [best_of]) == [0.1732]
    assert next_round(GRID, {0.03: trial_row(peak_lr=0.03)}, [best_of]) == []  # the grid is not finished yet


def _lr_sets(path):
    connection = sqlite3.connect(path)
    rows = connection.execute("SELECT method, seed, peak_lr, status FROM trials").fetchall()
    connection.close()
    return rows


def test_run_adds_bracketing_trials_counts_them_and_never_reruns(tmp_path):
    store_path = tmp_path / "s.sqlite"
    config = BenchConfig.from_options(
        "quick", [f"{TINY}:ShortDiabetes"], ["cosine", "nadamw-1"], seeds=2, lr_resolution=1.5
    )
    run_id = run_benchmark(store_path, config, workers=2, progress=False, say=lambda _: None)
    with Store(store_path) as store:
        trials = store.trials(run_id)
    cosine = [t for t in trials if t.method == "cosine"]
    for seed in (0, 1):
        lrs = sorted(t.peak_lr for t in cosine if t.seed == seed)
        assert {0.01, 0.03} <= set(lrs) and 2 < len(lrs) <= 2 + MAX_EXTRA_TRIALS
        assert len(set(lrs)) == len(lrs)  # no lr run twice
    assert len([t for t in trials if t.method == "nadamw-1"]) == 2  # a fixed list is not bracketed
    started = {t.trial_id: t.started for t in trials}
    run_benchmark(store_path, resume=True, workers=2, progress=False, say=lambda _: None)
    with Store(store_path) as store:
        again = store.trials(run_id)
    assert {t.trial_id: t.started for t in again} == started  # resumed: nothing rerun, nothing added


def test_resolution_defaults_to_the_suites_and_is_checked(tmp_path, capsys):
    from tuneless.cli import main

    assert BenchConfig.from_options("quick", ["logreg-wine"]).lr_resolution == 2.0
    assert BenchConfig.from_options("full", ["logreg-wine"]).lr_resolution == 1.5
    assert BenchConfig.from_options("full", ["logreg-wine"], lr_resolution=None).lr_resolution is None
    code = main(["bench", "--workload", "logreg-wine", "--lr-resolution", "0.5", "--store", str(tmp_path / "s")])
    assert code == 2 and "lr_resolution=0.5 must be a number > 1" in capsys.readouterr().err
    code = main(["bench", "--grid-only", "--lr-resolution", "2", "--store", str(tmp_path / "s")])
    assert code == 2 and "--grid-only and --lr-resolution 2 exclude each other" in capsys.readouterr().err


def test_grid_only_when_turned_off(tmp_path):
    config = BenchConfig.from_options("quick", [f"{TINY}:ShortDiabetes"], ["cosine"], seeds=1, lr_resolution=None)
    run_id = run_benchmark(tmp_path / "s.sqlite", config, workers=1, progress=False, say=lambda _: None)
    with Store(tmp_path / "s.sqlite") as store:
        assert sorted(t.peak_lr for t in store.trials(run_id)) == [0.01, 0.03]


def test_kill_9_during_bracketing_then_resume_matches_an_uninterrupted_run(tmp_path):
    def command(store):
        return [
            sys.executable, "-m", "tuneless.cli", "bench", "--workload", f"{TINY}:ShortDiabetes",
            "--methods", "cosine", "--seeds", "2", "--workers", "1", "--store", str(store),
            "--out", str(tmp_path / "out"), "--no-progress", "--lr-resolution", "1.5",
        ]  # fmt: skip

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    reference = tmp_path / "reference.sqlite"
    config = BenchConfig.from_options("quick", [f"{TINY}:ShortDiabetes"], ["cosine"], seeds=2, lr_resolution=1.5)
    run_benchmark(reference, config, workers=1, progress=False, say=lambda _: None)
    expected = sorted(row[:3] for row in _lr_sets(reference))
    assert len(expected) > 2 * 2 + 2  # bracketing trials were added

    killed = tmp_path / "killed.sqlite"
    driver = subprocess.Popen(command(killed), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and driver.poll() is None:  # kill it inside the bracketing rounds
        try:
            if sum(1 for row in _lr_sets(killed) if row[3] == "done") >= 2 * 2 + 1:
                break
        except sqlite3.OperationalError:
            pass
        time.sleep(0.05)
    assert driver.poll() is None, "the run finished before it could be killed: make it longer"
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    time.sleep(0.5)
    before = {row[:3]: row[3] for row in _lr_sets(killed)}
    resumed = subprocess.run([*command(killed), "--resume"], env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    after = _lr_sets(killed)
    assert sorted(row[:3] for row in after) == expected  # nothing lost, nothing duplicated, same lrs
    assert {row[3] for row in after} == {"done"}
    assert all(status in ("done", "running") for status in before.values())


def test_long_suite_is_four_times_the_full_horizon_with_targets():
    from tuneless.bench.catalog.suites import get_suite
    from tuneless.bench.catalog.targets import load_targets
    from tuneless.bench.catalog.workloads import resolve_workload

    full, long = get_suite("full"), get_suite("long")
    assert long.seeds == 2 and full.seeds == 3  # the long suite's time budget (docs/bench.md), full's 3
    assert set(long.workloads) == {"fashion-cnn", "lm-stdlib", "lm-kjv"} and {"linear", "cosine", "refined"} <= set(
        long.methods
    )
    targets = load_targets("long")
    for name, overrides in long.workloads.items():
        base = resolve_workload(name, dict(full.workloads[name]))
        assert overrides["budget_steps"] == 4 * base.budget_steps
        assert overrides["eval_every"] == 4 * base.eval_every
        assert targets[name]["budget_steps"] == overrides["budget_steps"]  # set at its own horizon
        assert targets[name]["per_seed"][0]["peak_lr"] in overrides["peak_lrs"]  # by the procedure: the grid's


def _record(lr, steps, final):
    return trial_row(peak_lr=lr, steps_to_target=steps, final_metric=final, higher_is_better=True)


def test_each_tuning_measure_gets_its_best_lr_bracketed():
    from tuneless.bench.run.prior import BEST_OF as _BEST_OF

    # 0.3 reaches the target first; 0.1 ends best: the two measures bracket different lrs
    grid = (0.1, 0.3, 1.0)
    finished = {0.1: _record(0.1, 200, 0.80), 0.3: _record(0.3, 100, 0.70), 1.0: _record(1.0, None, 0.75)}
    steps, final = _BEST_OF["steps"], _BEST_OF["final"]
    assert next_round(grid, finished, [steps]) == [0.5477, 0.1732]  # interior: both midpoints
    assert next_round(grid, finished, [final]) == [0.03333]  # the lowest lr: one grid step (x 1/3) down
    assert next_round(grid, finished, [steps, final]) == [0.5477, 0.1732, 0.03333]  # both, no lr twice
    assert next_round(grid, finished, [final, steps]) == [0.03333, 0.5477, 0.1732]  # the order is the measures'
    # a failed trial is never the best by either measure
    failed = {**finished, 0.1: replace(_record(0.1, None, None), status="failed")}
    assert next_round(grid, failed, [final]) == [3.333]  # 0.75 at 1.0 now ends best: one step up
    assert _BEST_OF["final"]([]) is None and _BEST_OF["steps"]([]) is None


@settings(max_examples=100, deadline=None)
@given(log_a=st.floats(-3, 1), log_b=st.floats(-3, 1), resolution=st.floats(1.2, 2.5))
def test_two_measures_both_end_bracketed_or_capped(log_a, log_b, resolution):
    """Two unimodal measures with different optima: each one's best ends bracketed, at an edge cap, or the
    shared cap (6 per measure) is spent."""
    grid = [round_lr(1e-2 * math.sqrt(10) ** k) for k in range(6)]

    def closest_to(optimum):
        return lambda records: min(records, key=lambda r: (abs(math.log(r.peak_lr / optimum)), r.peak_lr))

    choosers = [closest_to(10**log_a), closest_to(10**log_b)]
    finished = {lr: trial_row(peak_lr=lr) for lr in grid}
    while missing := next_round(grid, finished, choosers, resolution):
        for lr in missing:
            assert lr not in finished
            finished[lr] = trial_row(peak_lr=lr)
    tried = sorted(finished)
    assert len(tried) - len(grid) <= 2 * MAX_EXTRA_TRIALS
    for choose in choosers:
        best = choose([finished[lr] for lr in tried]).peak_lr
        index = tried.index(best)
        bracketed = (
            0 < index < len(tried) - 1
            and best / tried[index - 1] <= resolution * 1.001
            and tried[index + 1] / best <= resolution * 1.001
        )
        ratio = math.sqrt(10)
        at_edge_cap = (index == 0 and round(math.log(grid[0] / best, ratio)) == MAX_EDGE_STEPS) or (
            index == len(tried) - 1 and round(math.log(best / grid[-1], ratio)) == MAX_EDGE_STEPS
        )
        assert bracketed or at_edge_cap or len(tried) - len(grid) == 2 * MAX_EXTRA_TRIALS


@settings(max_examples=100, deadline=None)
@given(log_optimum=st.floats(-5, 3), resolution=st.floats(1.2, 2.5))
def test_two_measures_that_agree_propose_what_one_does(log_optimum, resolution):
    grid = [round_lr(1e-2 * 3.0**k) for k in range(4)]

    def closest(records):
        return min(records, key=lambda r: (abs(math.log(r.peak_lr / 10**log_optimum)), r.peak_lr))

    finished = {lr: trial_row(peak_lr=lr) for lr in grid}
    while True:
        a, b = (
            next_round(grid, finished, [closest], resolution),
            next_round(grid, finished, [closest, closest], resolution),
        )
        assert b[: len(a)] == a  # the same lrs, in the same order
        if len(finished) - len(grid) + len(b) > MAX_EXTRA_TRIALS:
            break  # one measure's cap cuts its round short; the pool of two does not
        assert a == b
        if not a:
            break
        finished.update({lr: trial_row(peak_lr=lr) for lr in a})


def test_an_edge_walk_with_two_measures_goes_four_grid_steps_out():
    def lowest(records):
        return min(records, key=lambda r: r.peak_lr)

    def bisecting(records):  # prefers 0.03, the grid's lowest point, so it bisects between it and the walk
        return min(records, key=lambda r: abs(math.log(r.peak_lr / 0.02)))

    grid = [0.03, 0.1, 0.3]
    finished = {lr: trial_row(peak_lr=lr) for lr in grid}
    while missing := next_round(grid, finished, [lowest, bisecting]):
        finished.update({lr: trial_row(peak_lr=lr) for lr in missing})
    walk = sorted(lr for lr in finished if lr < 0.03)
    assert round(math.log(0.03 / walk[0], 0.1 / 0.03)) == MAX_EDGE_STEPS  # midpoints below the grid do not count


def test_tuning_measures_are_the_suites_also_for_runs_stored_without_them():
    assert BenchConfig.from_options("quick", ["logreg-wine"]).tune_by == ["steps"]
    assert BenchConfig.from_options("full", ["logreg-wine"]).tune_by == ["steps", "final"]
    assert BenchConfig.from_options("long", ["lm-kjv"]).tune_by == ["final"]
    stored = BenchConfig.from_options("long", ["lm-kjv"]).to_dict()
    del stored["tune_by"]  # a run stored before the measures were recorded
    assert BenchConfig(**stored).tune_by == ["final"]
    for bad, message in (
        (["loss"], r"tune_by: 'loss' is unknown; choose from \['steps', 'final'\]"),
        ("steps", r"tune_by='steps' must be a list of distinct measures"),
        ([], r"tune_by=\[\] must be a list"),
        (["final", "final"], r"must be a list of distinct measures"),
    ):
        with pytest.raises(ValueError, match=message):
            BenchConfig("quick", ["logreg-wine"], ["linear"], 1, {}, tune_by=bad)
