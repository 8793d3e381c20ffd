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


def test_counts_against_grid_tuned_references_and_the_figure(tmp_path):
    from tuneless.bench.report.self_tuning_figure import plot_self_tuning, self_tuning_counts

    rows = [
        result(w, m, 100, trials=1 if m == "a" else 4) for w in ("w1", "w2", "w3") for m in ("a", "cosine", "linear")
    ]
    scored = scores_of(rows)
    scored.workload_info = {w: {"higher_is_better": False} for w in scored.workloads}
    seeds = range(5)
    finals = {
        # a is lower (better) than cosine on every seed of w1, higher on w2; on w3 the differences change sign
        "w1": {"a": {s: 1.0 + 0.01 * s for s in seeds}, "cosine": {s: 2.0 + 0.01 * s for s in seeds}},
        "w2": {"a": {s: 3.0 + 0.01 * s for s in seeds}, "cosine": {s: 2.0 + 0.01 * s for s in seeds}},
        "w3": {"a": {s: 2.0 + (0.1 if s % 2 else -0.1) for s in seeds}, "cosine": {s: 2.0 for s in seeds}},
    }
    for workload in finals.values():  # linear equals a everywhere: all ties
        workload["linear"] = dict(workload["a"])
    counts = self_tuning_counts(scored, finals)
    assert counts == {
        "a": {
            "cosine": {"better": 1, "ahead": 0, "tie": 1, "behind": 0, "worse": 1},
            "linear": {"better": 0, "ahead": 0, "tie": 3, "behind": 0, "worse": 0},
        }
    }
    path = plot_self_tuning(scored, counts, tmp_path / "self_tuning.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # with two seeds (the quick suite) even w1's clear difference has no verdict: counted apart by the sign of the
    # mean difference, never as a tie (on seeds 1 and 3, w3's a is 0.1 above cosine: behind)
    two = {w: {m: {s: v[s] for s in (1, 3)} for m, v in by_method.items()} for w, by_method in finals.items()}
    counts = self_tuning_counts(scored, two)
    assert counts["a"]["cosine"] == {"better": 0, "ahead": 1, "tie": 0, "behind": 2, "worse": 0}
    # w1 on five seeds, the rest on two: one verdict, two hints
    counts = self_tuning_counts(scored, {**two, "w1": finals["w1"]})
    assert counts["a"]["cosine"] == {"better": 1, "ahead": 0, "tie": 0, "behind": 2, "worse": 0}
    # means exactly level (a equals linear everywhere) are no hint of ahead
    assert counts["a"]["linear"] == {"better": 0, "ahead": 0, "tie": 1, "behind": 2, "worse": 0}
    assert plot_self_tuning(scored, counts, tmp_path / "two.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert plot_self_tuning(scored, {}, tmp_path / "none.png") is None and not (tmp_path / "none.png").exists()
