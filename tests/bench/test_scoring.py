"""Scoring against tables computed by hand (AlgoPerf rules, arXiv 2306.07179) and hypothesis properties."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuneless.bench.score.profiles import R_MAX, benchmark_scores, performance_profile, performance_ratios
from tuneless.bench.score.scoring import (
    best_trials,
    final_metric_stats,
    median_times_to_target,
    score_trials,
)

from .trial_rows import trial_row

INF = math.inf

# Workloads x methods times to target. W1: C misses; W2: B and C tie; W3: B's ratio 5 is above r_max = 4;
# W4: every method misses.
TIMES = {
    "W1": {"A": 100.0, "B": 200.0, "C": INF},
    "W2": {"A": 300.0, "B": 150.0, "C": 150.0},
    "W3": {"A": 100.0, "B": 500.0, "C": 350.0},
    "W4": {"A": INF, "B": INF, "C": INF},
}


def test_ratios_by_hand():
    # W1: min 100 -> A 100/100 = 1, B 200/100 = 2, C inf.  W2: min 150 -> A 2, B 1, C 1 (tie).
    # W3: min 100 -> A 1, B 5, C 3.5.  W4: nobody reached the target -> inf for all.
    assert performance_ratios(TIMES) == {
        "W1": {"A": 1.0, "B": 2.0, "C": INF},
        "W2": {"A": 2.0, "B": 1.0, "C": 1.0},
        "W3": {"A": 1.0, "B": 5.0, "C": 3.5},
        "W4": {"A": INF, "B": INF, "C": INF},
    }


def test_scores_by_hand():
    # B_m = mean_w max(0, 4 - r_w) / 3:
    # A: r = 1, 2, 1, inf -> (3 + 2 + 3 + 0) / 4 / 3 = 8/12
    # B: r = 2, 1, 5, inf -> (2 + 3 + 0 + 0) / 12 = 5/12   (5 > r_max: a failure, contributes 0)
    # C: r = inf, 1, 3.5, inf -> (0 + 3 + 0.5 + 0) / 12 = 3.5/12
    scores = benchmark_scores(performance_ratios(TIMES))
    assert scores == pytest.approx({"A": 8 / 12, "B": 5 / 12, "C": 3.5 / 12}, abs=1e-15)


def test_profile_by_hand():
    # rho(tau) = fraction of the 4 workloads with r <= tau.
    # A: r = 1, 2, 1, inf    B: r = 2, 1, 5, inf    C: r = inf, 1, 3.5, inf
    taus = [1.0, 1.5, 2.0, 3.5, 4.0, 5.0]
    profile = performance_profile(performance_ratios(TIMES), taus)
    np.testing.assert_array_equal(profile["A"], [2 / 4, 2 / 4, 3 / 4, 3 / 4, 3 / 4, 3 / 4])
    np.testing.assert_array_equal(profile["B"], [1 / 4, 1 / 4, 2 / 4, 2 / 4, 2 / 4, 3 / 4])
    np.testing.assert_array_equal(profile["C"], [1 / 4, 1 / 4, 1 / 4, 2 / 4, 2 / 4, 2 / 4])


def test_single_method():
    # Alone, a method is the fastest wherever it reaches the target: r = 1, 1, inf -> (3 + 3 + 0) / 3 / 3 = 2/3.
    times = {"W1": {"A": 7.0}, "W2": {"A": 0.5}, "W3": {"A": INF}}
    assert performance_ratios(times) == {"W1": {"A": 1.0}, "W2": {"A": 1.0}, "W3": {"A": INF}}
    assert benchmark_scores(performance_ratios(times)) == pytest.approx({"A": 2 / 3})


def test_every_method_misses_everywhere():
    times = {"W1": {"A": INF, "B": INF}}
    assert benchmark_scores(performance_ratios(times)) == {"A": 0.0, "B": 0.0}


def test_method_absent_from_a_workload_is_a_miss_and_zero_time_ties():
    # W1: B never ran -> inf. W2: A met the target at step 0 (t = 0): A ratio 1, B 3/0 -> inf.
    times = {"W1": {"A": 4.0}, "W2": {"A": 0.0, "B": 3.0}}
    assert performance_ratios(times) == {"W1": {"A": 1.0, "B": INF}, "W2": {"A": 1.0, "B": INF}}


def test_ratio_exactly_r_max_scores_zero_and_custom_r_max():
    # r = 4 = r_max: the profile steps up at tau = 4, an interval of measure zero -> B = 0.
    ratios = performance_ratios({"W": {"A": 1.0, "B": 4.0}})
    assert benchmark_scores(ratios)["B"] == 0.0
    # r_max = 8: B = (8 - 4) / 7 = 4/7.
    assert benchmark_scores(ratios, r_max=8.0)["B"] == pytest.approx(4 / 7)


def test_user_errors():
    with pytest.raises(ValueError, match=r"r_max=1\.0.*must be > 1"):
        benchmark_scores({"W": {"A": 1.0}}, r_max=1.0)
    with pytest.raises(ValueError, match=r"method 'B' on workload 'W' is -1\.0"):
        performance_ratios({"W": {"A": 1.0, "B": -1.0}})
    with pytest.raises(ValueError, match=r"method 'A' on workload 'W' is nan"):
        performance_ratios({"W": {"A": math.nan}})
    with pytest.raises(ValueError, match=r"measure 'epochs'.*\['steps', 'seconds', 'cpu_seconds'\]"):
        best_trials([], "epochs")
    with pytest.raises(ValueError, match="no finished trials"):
        score_trials([_trial("w1", "lin", 0, 0.1, status="running")])


# --- from trial rows ------------------------------------------------------------------------------------------
def _trial(workload, method, seed, lr, steps=None, seconds=None, final=None, status="done", **extra):
    higher = workload == "w2"
    return trial_row(
        **{
            "trial_id": f"{workload}-{method}-{seed}-{lr}-{status}",
            "workload": workload,
            "method": method,
            "seed": seed,
            "peak_lr": lr,
            "status": status,
            "metric_name": "accuracy" if higher else "val_loss",
            "higher_is_better": int(higher),
            "target": 0.9 if higher else 0.5,
            "budget_steps": 100,
            "steps_to_target": steps,
            "seconds_to_target": seconds,
            "final_metric": final,
            "prior_trial_id": None,
            "prior_seconds": 0.0,
            "prior_steps": 0,
            **extra,
        }
    )


TRIALS = [
    # w1: val_loss (lower is better), grid of two peak lrs, seeds 0 and 1.
    _trial("w1", "lin", 0, 0.1, 40, 4.0, 0.30),
    _trial("w1", "lin", 0, 0.3, 40, 3.0, 0.25),  # ties lr 0.1 on steps, better final metric -> chosen
    _trial("w1", "lin", 0, 0.03, 1, 0.1, 0.01, status="running"),  # unfinished: ignored everywhere
    _trial("w1", "lin", 1, 0.1, 60, 5.0, 0.35),
    _trial("w1", "lin", 1, 0.3, None, None, 0.60),  # miss
    _trial("w1", "cos", 0, 0.1, 80, 8.0, 0.28),
    _trial("w1", "cos", 0, 0.3, status="failed"),  # diverged: miss, no final metric
    _trial("w1", "cos", 1, 0.1, 100, 9.0, 0.27),  # best by seconds
    _trial("w1", "cos", 1, 0.3, 50, 10.0, 0.45),  # best by steps
    # w2: accuracy (higher is better), one trial per seed; "ref" (refined) has a prior run, runs only here.
    _trial("w2", "lin", 0, 0.1, 30, 2.0, 0.95),
    _trial("w2", "lin", 1, 0.1, None, None, 0.85),
    _trial("w2", "cos", 0, 0.1, None, None, 0.88),
    _trial("w2", "cos", 1, 0.1, None, None, 0.89),
    _trial("w2", "ref", 0, 0.2, 10, 1.0, 0.96, prior_trial_id="p0", prior_steps=100, prior_seconds=6.0),
    _trial("w2", "ref", 1, 0.2, 20, 2.0, 0.94, prior_trial_id="p1", prior_steps=100, prior_seconds=7.0),
]


def test_best_trials_tie_broken_by_final_metric():
    by_steps = best_trials(TRIALS, "steps")
    assert by_steps[("w1", "lin", 0)].peak_lr == 0.3  # 40 = 40 steps, final 0.25 < 0.30
    assert by_steps[("w1", "cos", 1)].peak_lr == 0.3  # 50 < 100 steps
    assert best_trials(TRIALS, "seconds")[("w1", "cos", 1)].peak_lr == 0.1  # 9 s < 10 s
    # every trial missed: the better final metric decides (accuracy 0.89 is the only trial of cos seed 1).
    assert by_steps[("w2", "cos", 1)].final_metric == 0.89


def test_median_times_by_hand():
    # w1 lin: steps per seed 40, 60 -> 50; seconds 3, 5 -> 4.   w1 cos: steps 80, 50 -> 65; seconds 8, 9 -> 8.5.
    # w2 lin: 30, inf -> inf (the median of two values is their mean). w2 cos: inf. w2 ref: 10, 20 -> 15; 1, 2 -> 1.5
    assert median_times_to_target(TRIALS, "steps") == {
        "w1": {"lin": 50.0, "cos": 65.0},
        "w2": {"lin": INF, "cos": INF, "ref": 15.0},
    }
    assert median_times_to_target(TRIALS, "seconds") == {
        "w1": {"lin": 4.0, "cos": 8.5},
        "w2": {"lin": INF, "cos": INF, "ref": 1.5},
    }


def test_median_over_three_seeds():
    # one trial per seed; steps a: 10, 20, 90 -> median 20 (the mean would be 40); b: 10, 20, miss -> 20;
    # c: 10, miss, miss -> inf (two of three seeds missed)
    steps = {"a": (10, 20, 90), "b": (10, 20, None), "c": (10, None, None)}
    trials = [_trial("w1", m, seed, 0.1, s, s, 0.3) for m, ss in steps.items() for seed, s in enumerate(ss)]
    assert median_times_to_target(trials, "steps") == {"w1": {"a": 20.0, "b": 20.0, "c": INF}}


def test_final_metric_by_hand():
    # w1 lin: seed 0 min(0.30, 0.25) = 0.25, seed 1 min(0.35, 0.60) = 0.35 -> mean 0.30, std sqrt(2 * 0.05^2 / 1)
    # w1 cos: seed 0 0.28 (the failed trial has none), seed 1 min(0.27, 0.45) = 0.27 -> 0.275, sqrt(2 * 0.005^2)
    # w2 (max): lin 0.95, 0.85 -> 0.90, sqrt(2 * 0.05^2); cos 0.88, 0.89 -> 0.885; ref 0.96, 0.94 -> 0.95
    stats = final_metric_stats(TRIALS)
    assert stats["w1"]["lin"] == pytest.approx((0.30, 0.05 * math.sqrt(2)))
    assert stats["w1"]["cos"] == pytest.approx((0.275, 0.005 * math.sqrt(2)))
    assert stats["w2"]["lin"] == pytest.approx((0.90, 0.05 * math.sqrt(2)))
    assert stats["w2"]["cos"] == pytest.approx((0.885, 0.005 * math.sqrt(2)))
    assert stats["w2"]["ref"] == pytest.approx((0.95, 0.01 * math.sqrt(2)))


def test_final_metric_one_seed_and_all_failed():
    trials = [_trial("w1", "a", 0, 0.1, final=0.4), _trial("w1", "b", 0, 0.1, status="failed")]
    assert final_metric_stats(trials) == {"w1": {"a": (0.4, None), "b": (None, None)}}


def test_score_trials_by_hand():
    scored = score_trials(TRIALS)
    assert scored.workloads == ["w1", "w2"]
    assert scored.methods == ["lin", "cos", "ref"]
    # steps: w1 min 50 -> lin 1, cos 65/50 = 1.3, ref absent = inf;  w2 -> lin inf, cos inf, ref 1.
    assert scored.ratios["steps"] == {
        "w1": {"lin": 1.0, "cos": 1.3, "ref": INF},
        "w2": {"lin": INF, "cos": INF, "ref": 1.0},
    }
    # B = mean_w max(0, 4 - r) / 3: lin (3 + 0)/6 = 0.5; cos (2.7 + 0)/6 = 0.45; ref (0 + 3)/6 = 0.5
    assert scored.scores["steps"] == pytest.approx({"lin": 0.5, "cos": 0.45, "ref": 0.5})
    # seconds: w1 lin 4, cos 8.5 -> 2.125 -> (4 - 2.125)/6 = 0.3125; w2 ref 1.
    assert scored.scores["seconds"] == pytest.approx({"lin": 0.5, "cos": 0.3125, "ref": 0.5})
    # trials per seed: lin 2 on w1, 1 on w2 -> 1.5; cos the same; ref 1 (only w2).
    assert scored.trials_per_workload == {"lin": 1.5, "cos": 1.5, "ref": 1.0}

    lin = scored.results["w1"]["lin"]
    assert (lin.steps_to_target, lin.seconds_to_target, lin.trials, lin.seeds) == (50.0, 4.0, 2, 2)
    assert lin.steps_with_prior is None and lin.seconds_with_prior is None
    # chosen by steps: seed 0 lr 0.3 (tie broken), seed 1 lr 0.1 -> lower middle of (0.1, 0.3) = 0.1
    assert lin.peak_lr == 0.1
    assert {s: t.peak_lr for s, t in lin.chosen.items()} == {0: 0.3, 1: 0.1}
    assert scored.results["w1"]["cos"].peak_lr == 0.1  # seed 0: 0.1, seed 1: 0.3
    ref = scored.results["w2"]["ref"]
    # with the prior run: steps 10 + 100, 20 + 100 -> 115; seconds 1 + 6, 2 + 7 -> 8
    assert (ref.steps_with_prior, ref.seconds_with_prior) == (115.0, 8.0)
    assert "ref" not in scored.results["w1"]
    assert scored.workload_info["w2"] == {
        "metric_name": "accuracy",
        "higher_is_better": 1,
        "target": 0.9,
        "budget_steps": 100,
    }


# --- properties -----------------------------------------------------------------------------------------------
time_values = st.one_of(st.floats(0.01, 1e4), st.just(INF))


@st.composite
def time_tables(draw, min_methods=1):
    n_workloads = draw(st.integers(1, 5))
    n_methods = draw(st.integers(min_methods, 4))
    return {f"w{i}": {f"m{j}": draw(time_values) for j in range(n_methods)} for i in range(n_workloads)}


@settings(max_examples=60, deadline=None)
@given(time_tables())
def test_score_in_unit_interval_and_equals_integral_of_profile(times):
    ratios = performance_ratios(times)
    scores = benchmark_scores(ratios)
    taus = np.linspace(1.0, R_MAX, 30001)
    profile = performance_profile(ratios, taus)
    for method, score in scores.items():
        assert 0.0 <= score <= 1.0
        # the exact integral of the step function vs the trapezoid rule on a fine grid (error <= jumps * dtau)
        rho = profile[method]
        numeric = np.sum((rho[1:] + rho[:-1]) / 2 * np.diff(taus)) / (R_MAX - 1)
        assert score == pytest.approx(numeric, abs=len(times) * 1e-4 + 1e-12)


@settings(max_examples=60, deadline=None)
@given(time_tables())
def test_best_on_every_workload_scores_one(times):
    # m0 is made at least as fast as every other method on each workload (ties allowed), and always finite
    for row in times.values():
        row["m0"] = min(min(row.values()), 1.0e4)
    assert benchmark_scores(performance_ratios(times))["m0"] == 1.0


@settings(max_examples=60, deadline=None)
@given(time_tables(), st.floats(1e-3, 1e3))
def test_scaling_all_times_leaves_scores_unchanged(times, factor):
    scaled = {w: {m: t * factor for m, t in row.items()} for w, row in times.items()}
    assert benchmark_scores(performance_ratios(scaled)) == pytest.approx(
        benchmark_scores(performance_ratios(times)), abs=1e-12
    )


@settings(max_examples=60, deadline=None)
@given(time_tables(), st.floats(1.0, 10.0), st.booleans())
def test_adding_a_slower_method_leaves_other_scores_unchanged(times, slowdown, misses):
    # the new method is no faster than the slowest method on any workload (or misses everywhere)
    worse = {w: {**row, "new": INF if misses else max(row.values()) * slowdown} for w, row in times.items()}
    before = benchmark_scores(performance_ratios(times))
    after = benchmark_scores(performance_ratios(worse))
    assert {m: after[m] for m in before} == before


@settings(max_examples=60, deadline=None)
@given(time_tables(), st.floats(0.01, 1.0))
def test_getting_faster_never_lowers_own_score(times, speedup):
    faster = {w: {**row, "m0": row["m0"] * speedup} for w, row in times.items()}
    assert benchmark_scores(performance_ratios(faster))["m0"] >= benchmark_scores(performance_ratios(times))["m0"]


def _grid_trial(workload, method, seed, lr, steps, optimizer="sgd", schedule="linear", final=0.5):
    return trial_row(
        **{
            "workload": workload,
            "method": method,
            "seed": seed,
            "peak_lr": lr,
            "optimizer": optimizer,
            "schedule": schedule,
            "status": "done",
            "steps_to_target": steps,
            "seconds_to_target": None if steps is None else steps / 10,
            "final_metric": final,
            "higher_is_better": 0,
            "metric_name": "loss",
            "target": 0.6,
            "budget_steps": 100,
        }
    )


def test_lr_grid_edges_and_method_summaries_by_hand():
    from tuneless.bench.score.scoring import method_summaries

    trials = []
    for seed in (0, 1):
        # "grid" on w1: 3 lrs, the middle one fastest and best at the end; on w2: 4 lrs, the highest fastest (an edge)
        trials += [
            _grid_trial("w1", "grid", seed, lr, s, final=f)
            for lr, s, f in ((0.1, 80, 0.5), (0.3, 40, 0.4), (1.0, None, 0.5))
        ]
        trials += [_grid_trial("w2", "grid", seed, lr, s) for lr, s in ((0.1, 90), (0.3, 70), (1.0, 60), (3.0, 20))]
        # "list": configurations that differ in the optimizer too (not an lr grid), the highest lr fastest
        trials += [_grid_trial(w, "list", seed, lr, 30, optimizer=f"adam{lr}") for w in ("w1", "w2") for lr in (1, 2)]
        # "single": one self-tuning trial per seed; misses on w2
        trials += [_grid_trial("w1", "single", seed, 1.0, 50), _grid_trial("w2", "single", seed, 1.0, None)]
    scored = score_trials(trials)
    w1, w2 = scored.results["w1"], scored.results["w2"]
    assert (w1["grid"].lr_grid, w1["grid"].peak_lr, w1["grid"].lr_edge) == ((0.1, 0.3, 1.0), 0.3, None)
    assert (w2["grid"].lr_grid, w2["grid"].peak_lr, w2["grid"].lr_edge) == ((0.1, 0.3, 1.0, 3.0), 3.0, "highest")
    assert w1["grid"].final_peak_lr == 0.3
    assert w1["list"].lr_grid == () and w1["list"].lr_edge is None
    assert w1["single"].lr_grid == () and w1["single"].lr_edge is None
    summaries = method_summaries(scored)
    grid, listed, single = summaries["grid"], summaries["list"], summaries["single"]
    assert (grid.trials_fewest, grid.trials_most, grid.lr_at_edge, grid.lr_grids) == (3, 4, 1, 2)
    assert (listed.trials_fewest, listed.trials_most, listed.lr_grids) == (2, 2, 0)
    assert (single.targets_reached, grid.targets_reached, single.workloads) == (1, 2, 2)
    # equal finals but grid's 0.4 on w1: grid best on both workloads, the others tie for the best on w2 only
    assert {m: s.best_final for m, s in summaries.items()} == {"grid": 2, "list": 1, "single": 1}
    # one place computes the counts the reports print: the scores are the scoring's own
    assert grid.scores == {measure: scored.scores[measure]["grid"] for measure in ("steps", "seconds")}


def test_an_edge_by_either_measure_is_flagged_with_its_lr():
    # the fastest lr is inside the grid, the best final metric at its highest lr (or, on w2, at neither edge)
    trials = [
        _grid_trial(w, "grid", seed, lr, s, final=f)
        for seed in (0, 1)
        for w, last in (("w1", 0.3), ("w2", 0.45))
        for lr, s, f in ((0.1, 80, 0.5), (0.3, 40, 0.4), (1.0, 60, last))
    ]
    w1, w2 = (score_trials(trials).results[w]["grid"] for w in ("w1", "w2"))
    assert (w1.peak_lr, w1.final_peak_lr, w1.edge, w1.lr_edge) == (0.3, 1.0, (1.0, "highest"), "highest")
    assert (w2.peak_lr, w2.final_peak_lr, w2.edge) == (0.3, 0.3, None)
    # a seed whose trials all failed has no best final metric: it does not pull the median to the lowest lr
    failed = [replace(_grid_trial("w", "grid", 0, lr, None, final=None), status="failed") for lr in (0.1, 0.3, 1.0)]
    kept = [
        _grid_trial("w", "grid", 1, lr, s, final=f) for lr, s, f in ((0.1, 80, 0.5), (0.3, 40, 0.4), (1.0, 60, 0.45))
    ]
    w = score_trials(failed + kept).results["w"]["grid"]
    assert (w.final_peak_lr, w.edge) == (0.3, None)


def test_trial_counts_print_a_range_not_a_mean():
    from tuneless.bench.report.formatting import format_trial_counts
    from tuneless.bench.score.scoring import MethodSummary

    summary = MethodSummary("m", {}, 3, 6, 0, 0, 0, 0, 16)
    assert format_trial_counts(summary) == "3–6"
    assert format_trial_counts(MethodSummary("m", {}, 6, 6, 0, 0, 0, 0, 16)) == "6"
