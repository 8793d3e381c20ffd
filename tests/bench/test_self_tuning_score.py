"""The self-tuning score: one-run methods scored among themselves (closed form), grid methods left out."""

from __future__ import annotations

import math

import pytest

from tuneless.bench.score.scoring import MethodResult, RunScores
from tuneless.bench.score.self_tuning import one_run_methods, self_tuning_scores


def result(workload, method, steps, trials=1, prior=None):
    return MethodResult(workload, method, steps, steps / 10, prior, None, None, None, None, trials, 5, {})


def scores_of(rows):
    workloads = sorted({r.workload for r in rows})
    methods = list(dict.fromkeys(r.method for r in rows))
    results = {w: {r.method: r for r in rows if r.workload == w} for w in workloads}
    return RunScores(workloads, methods, {}, results, {}, {"steps": {}, "seconds": {}}, {}, 4.0)


def test_closed_form_and_grid_methods_do_not_count():
    rows = [
        result("w1", "a", 100),
        result("w2", "a", math.inf),
        result("w1", "b", 200),
        result("w2", "b", 50),
        result("w1", "grid", 10, trials=6),  # fastest everywhere, but tuned: not in the self-tuning track
        result("w2", "grid", 10, trials=6),
        result("w1", "refined", 5, prior=300.0),  # one trial, but built on a prior run
        result("w2", "refined", 5, prior=300.0),
    ]
    scored = scores_of(rows)
    assert one_run_methods(scored) == ["a", "b"]
    # r_max = 4: a has ratio 1 on w1 and misses w2 -> rho = 1/2 from tau = 1 on: score 0.5;
    # b: ratio 2 on w1, 1 on w2 -> rho = 1/2 on [1, 2), 1 on [2, 4]: (0.5 * 1 + 1 * 2) / 3
    for measure in ("steps", "seconds"):
        got = self_tuning_scores(scored)[measure]
        assert got == pytest.approx({"a": 0.5, "b": 2.5 / 3})


def test_fewer_than_two_one_run_methods_give_no_score():
    scored = scores_of([result("w1", "a", 100), result("w1", "grid", 10, trials=4)])
    assert one_run_methods(scored) == ["a"] and self_tuning_scores(scored) == {}


def test_a_method_with_several_trials_on_any_workload_is_not_one_run():
    rows = [result("w1", "a", 100), result("w2", "a", 100, trials=2), result("w1", "b", 10), result("w2", "b", 10)]
    assert one_run_methods(scores_of(rows)) == ["b"]
