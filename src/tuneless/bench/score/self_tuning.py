"""The self-tuning track's score: the one-run methods of a run, scored among themselves (AlgoPerf's self-tuning
ruleset, Dahl et al. 2023, arXiv 2306.07179, section 4: submissions that tune nothing on the workload are ranked
against each other, not against those given a tuning budget).

A method counts as one-run when every workload it ran on has exactly one trial per seed and no prior run (its
pilot, if any, is inside that trial). The score is ``profiles.benchmark_scores`` over the ratios of those methods'
median times to target only, so adding a grid-tuned method to the run does not move it.
"""

from __future__ import annotations

from .profiles import R_MAX, benchmark_scores, performance_ratios
from .scoring import CPU_MEASURE, RunScores

__all__ = ["one_run_methods", "self_tuning_scores"]


def one_run_methods(scored: RunScores) -> list[str]:
    """The methods of the run with one trial per workload and seed and no prior run, in the run's order."""
    results = [result for w in scored.workloads for result in scored.results.get(w, {}).values()]
    ran = {r.method for r in results}
    many = {r.method for r in results if r.trials != 1 or r.steps_with_prior is not None}
    return [m for m in scored.methods if m in ran and m not in many]


def self_tuning_scores(scored: RunScores, r_max: float = R_MAX) -> dict[str, dict[str, float]]:
    """measure -> method -> benchmark score among the one-run methods (empty when the run has fewer than two)."""
    methods = one_run_methods(scored)
    if len(methods) < 2:
        return {}
    measures = {"steps": "steps_to_target", "seconds": "seconds_to_target"}
    if CPU_MEASURE in scored.scores:
        measures[CPU_MEASURE] = "cpu_seconds_to_target"
    scores = {}
    for measure, field in measures.items():
        times = {
            w: {m: getattr(scored.results[w][m], field) for m in methods if m in scored.results.get(w, {})}
            for w in scored.workloads
        }
        scores[measure] = benchmark_scores(performance_ratios(times), r_max)
    return scores
