"""Scoring of a benchmark run, AlgoPerf-style (Dahl et al. 2023, arXiv 2306.07179, section 4).

Pure functions over the store's trial rows (``record.rows.Trial``: the columns of its ``trials`` table; a pandas
DataFrame ``df`` of them works as ``[Trial(**r) for r in df.to_dict("records")]``). Nothing here reads a file or
trains anything.

The steps, for each of the two measures of time (``"steps"``: optimizer steps, ``"seconds"``: training seconds,
evaluation untimed), each computed from the store's ``steps_to_target`` / ``seconds_to_target``:

1. Per (workload, method, seed) the best trial of the tuning grid: the one with the smallest time to target, a
   miss (NULL) counting as +inf; ties broken by the better final metric (by the metric's direction). AlgoPerf's
   external tuning: "per study, the best of the trials".
2. Per (workload, method) the median over seeds of that best time, ``t_{m,w}`` (+inf when the median is +inf).
3. Performance ratio ``r_{m,w} = t_{m,w} / min_{m'} t_{m',w}`` (+inf for a miss, and for every method on a
   workload that all methods miss).
4. Performance profile ``rho_m(tau) = |{w : r_{m,w} <= tau}| / |W|``.
5. Benchmark score ``B_m = 1/(r_max - 1) * integral_1^{r_max} rho_m(tau) dtau`` with ``r_max = 4``: ratios above
   ``r_max`` count as failures (they never enter the integral).

Besides time to target, the paper's comparison (Defazio et al. 2023): the final validation metric at the budget,
per seed the grid's best final metric (max or min by direction), then mean and sample standard deviation over seeds.

Trials with status ``'running'`` (unfinished: an interrupted or ongoing run) are ignored; ``'failed'`` trials
count as misses with no final metric.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from ..record.rows import Trial
from .profiles import R_MAX, benchmark_scores, performance_ratios

__all__ = [
    "CPU_MEASURE",
    "MEASURES",
    "R_MAX",
    "MethodResult",
    "MethodSummary",
    "RunScores",
    "best_methods",
    "best_scores",
    "best_final_trials",
    "best_trials",
    "final_metric_stats",
    "method_summaries",
    "median_times_to_target",
    "per_seed_final_metrics",
    "score_trials",
    "time_to_target",
]

MEASURES = ("steps", "seconds")  # store columns steps_to_target, seconds_to_target
CPU_MEASURE = "cpu_seconds"  # column cpu_seconds_to_target: the trial process's CPU time; scored when recorded

Table = Mapping[str, Mapping[str, float]]  # workload -> method -> value


def _check_measure(measure: str) -> str:
    if measure not in (*MEASURES, CPU_MEASURE):
        known = [*MEASURES, CPU_MEASURE]
        raise ValueError(f"measure {measure!r} is not a measure of time to target; choose one of {known}")
    return measure


def time_to_target(trial: Trial, measure: str) -> float:
    """The trial's ``steps_to_target`` or ``seconds_to_target``; +inf when the target was missed (NULL)."""
    value = getattr(trial, f"{_check_measure(measure)}_to_target")
    return math.inf if value is None else float(value)


def _final_metric_badness(trial: Trial) -> float:
    """Smaller is better: ``final_metric`` (lower is better) or ``-final_metric`` (higher is better); +inf if
    the trial has none (failed)."""
    value = trial.final_metric
    if value is None or math.isnan(value):
        return math.inf
    return -float(value) if trial.higher_is_better else float(value)


def _finished(trials: Iterable[Trial]) -> list[Trial]:
    return [t for t in trials if t.status != "running"]


def _group(trials: Iterable[Trial], keys: Sequence[str]) -> dict[tuple, list[Trial]]:
    groups: dict[tuple, list[Trial]] = {}
    for trial in trials:
        groups.setdefault(tuple(getattr(trial, k) for k in keys), []).append(trial)
    return groups


def best_trials(trials: Iterable[Trial], measure: str) -> dict[tuple[str, str, int], Trial]:
    """Per ``(workload, method, seed)``: the grid's trial with the smallest time to target (a miss = +inf), ties
    broken by the better final metric; the first such trial in input order when both tie."""
    _check_measure(measure)
    groups = _group(_finished(trials), ("workload", "method", "seed"))
    return {
        key: min(group, key=lambda t: (time_to_target(t, measure), _final_metric_badness(t)))
        for key, group in groups.items()
    }


def median_times_to_target(trials: Iterable[Trial], measure: str) -> dict[str, dict[str, float]]:
    """``t_{m,w}``: per workload and method, the median over seeds of the best trial's time to target
    (``best_trials``). ``numpy.median`` keeps +inf: the median of (3, inf) is inf, of (3, 5, inf) is 5."""
    times: dict[str, dict[str, list[float]]] = {}
    for (workload, method, _seed), trial in best_trials(trials, measure).items():
        times.setdefault(workload, {}).setdefault(method, []).append(time_to_target(trial, measure))
    return {w: {m: float(np.median(ts)) for m, ts in row.items()} for w, row in times.items()}


def best_final_trials(trials: Iterable[Trial]) -> dict[tuple[str, str, int], Trial]:
    """Per ``(workload, method, seed)``: the trial with the best final metric (max when higher is better, else
    min; a failed trial's is the worst); the first such trial in input order when several tie."""
    groups = _group(_finished(trials), ("workload", "method", "seed"))
    return {key: min(group, key=_final_metric_badness) for key, group in groups.items()}


def per_seed_final_metrics(trials: Iterable[Trial]) -> dict[str, dict[str, dict[int, float]]]:
    """Per workload, method and seed the grid's best final metric (max when higher is better, else min); seeds
    whose trials all failed are left out. What paired comparisons (``paired``) compare seed by seed."""
    per_seed: dict[str, dict[str, dict[int, float]]] = {}
    for (workload, method, seed), best in best_final_trials(trials).items():
        row = per_seed.setdefault(workload, {}).setdefault(method, {})
        if math.isfinite(_final_metric_badness(best)):
            row[seed] = float(best.final_metric)
    return per_seed


def final_metric_stats(trials: Iterable[Trial]) -> dict[str, dict[str, tuple[float | None, float | None]]]:
    """Per workload and method ``(mean, std)`` over seeds of the grid's best final metric (max when higher is
    better, else min), the paper's comparison. Seeds whose trials all failed are left out; the mean is ``None``
    when no seed has a final metric, the std (sample, ``ddof=1``) is ``None`` with fewer than two seeds."""
    return {
        w: {
            m: (
                float(np.mean(list(values.values()))) if values else None,
                float(np.std(list(values.values()), ddof=1)) if len(values) > 1 else None,
            )
            for m, values in row.items()
        }
        for w, row in per_seed_final_metrics(trials).items()
    }


@dataclasses.dataclass
class MethodResult:
    """Everything the report says about one method on one workload (times: +inf = missed).

    ``*_with_prior``: for a method built on a prior run (refinement), the median over seeds of the best trial's
    time plus the prior run's cost (``prior_steps`` / ``prior_seconds``); ``None`` for other methods.
    ``peak_lr``: the median (lower middle value) over seeds of the peak lr of the best trial by steps (seeds whose
    trials all failed left out);
    ``final_peak_lr``: the same of the trial with the best final metric (the other lr method-fair tuning brackets).
    ``trials``: trials per seed on this workload (the most any seed had). ``chosen``: seed -> best trial by steps.
    ``lr_grid``: the peak lrs tried, ascending, when the method tuned a grid (per seed, trials that differ only in
    the peak lr, at least two); empty otherwise.
    """

    workload: str
    method: str
    steps_to_target: float
    seconds_to_target: float
    steps_with_prior: float | None
    seconds_with_prior: float | None
    final_metric_mean: float | None
    final_metric_std: float | None
    peak_lr: float | None
    trials: int
    seeds: int
    chosen: dict[int, Trial]
    lr_grid: tuple[float, ...] = ()
    cpu_seconds_to_target: float | None = None  # None: the run recorded no CPU times (a store from before them)
    final_peak_lr: float | None = None

    @property
    def edge(self) -> tuple[float, str] | None:
        """``(lr, "lowest")`` or ``(lr, "highest")`` when a chosen peak lr (by steps, else by final metric) is at
        that edge of the lrs tried (the best lr may lie outside them: widen the grid before trusting the
        comparison), else ``None``."""
        if not self.lr_grid:
            return None
        for lr in (self.peak_lr, self.final_peak_lr):
            if lr is not None and lr in (self.lr_grid[0], self.lr_grid[-1]):
                return lr, "lowest" if lr == self.lr_grid[0] else "highest"
        return None

    @property
    def lr_edge(self) -> str | None:
        """``"lowest"`` or ``"highest"``: the edge a chosen peak lr sits at (``edge``), else ``None``."""
        return self.edge[1] if self.edge else None


@dataclasses.dataclass
class RunScores:
    """The scored run: per-workload results, ratios, profiles' scores for both measures, trial counts."""

    workloads: list[str]
    methods: list[str]
    workload_info: dict[str, dict[str, Any]]  # metric, higher_is_better, target, budget_steps
    results: dict[str, dict[str, MethodResult]]  # workload -> method -> result
    ratios: dict[str, dict[str, dict[str, float]]]  # measure -> workload -> method -> r
    scores: dict[str, dict[str, float]]  # measure -> method -> B
    trials_per_workload: dict[str, float]  # method -> mean over workloads of trials per seed
    r_max: float


def score_trials(trials: Iterable[Trial], r_max: float = R_MAX) -> RunScores:
    """Score a run's trial rows: times to target, ratios and benchmark scores for both measures, final metrics,
    chosen peak lrs, trial counts and (for refinement) the cost including the prior run."""
    trials = _finished(trials)
    if not trials:
        raise ValueError("no finished trials to score (every trial is missing or still 'running')")
    workloads = list(dict.fromkeys(t.workload for t in trials))
    methods = list(dict.fromkeys(t.method for t in trials))
    info = {}
    for t in trials:
        info.setdefault(
            t.workload,
            {k: getattr(t, k) for k in ("metric_name", "higher_is_better", "target", "budget_steps")},
        )
    measures = MEASURES
    if any(t.train_cpu_seconds is not None for t in trials):
        measures = (*MEASURES, CPU_MEASURE)
    times = {m: median_times_to_target(trials, m) for m in measures}
    results = _method_results(trials, workloads, methods, times)
    ratios = {m: performance_ratios(times[m]) for m in measures}
    trials_per_workload = {
        method: float(np.mean([results[w][method].trials for w in workloads if method in results.get(w, {})]))
        for method in methods
    }
    return RunScores(
        workloads=workloads,
        methods=methods,
        workload_info=info,
        results=results,
        ratios=ratios,
        scores={m: benchmark_scores(ratios[m], r_max) for m in measures},
        trials_per_workload=trials_per_workload,
        r_max=r_max,
    )


def _method_results(
    trials: list[Trial], workloads: list[str], methods: list[str], times: dict[str, dict[str, dict[str, float]]]
) -> dict[str, dict[str, MethodResult]]:
    """Per workload and method with a result (``times``: measure -> workload -> method -> median time): its
    ``MethodResult``."""
    best = {m: best_trials(trials, m) for m in MEASURES}
    with_prior = {m: _median_with_prior(best[m].values(), m) for m in MEASURES}
    finals = final_metric_stats(trials)
    final_best = best_final_trials(trials)
    counts = _group(trials, ("workload", "method", "seed"))

    results: dict[str, dict[str, MethodResult]] = {}
    for workload in workloads:
        for method in methods:
            if method not in times["steps"].get(workload, {}):
                continue
            chosen = {s: t for (w, m, s), t in best["steps"].items() if (w, m) == (workload, method)}
            lrs = [t.peak_lr for t in chosen.values() if t.peak_lr is not None and t.status == "done"]
            final_lrs = [  # seeds whose trials all failed have no best final metric
                t.peak_lr
                for (w, m, _), t in final_best.items()
                if (w, m) == (workload, method) and t.peak_lr is not None and math.isfinite(_final_metric_badness(t))
            ]
            mean, std = finals[workload][method]
            results.setdefault(workload, {})[method] = MethodResult(
                workload=workload,
                method=method,
                steps_to_target=times["steps"][workload][method],
                seconds_to_target=times["seconds"][workload][method],
                steps_with_prior=with_prior["steps"].get((workload, method)),
                seconds_with_prior=with_prior["seconds"].get((workload, method)),
                final_metric_mean=mean,
                final_metric_std=std,
                peak_lr=statistics.median_low(sorted(lrs)) if lrs else None,
                trials=max(len(counts[(workload, method, s)]) for s in chosen),
                seeds=len(chosen),
                chosen=dict(sorted(chosen.items())),
                lr_grid=_lr_grid(
                    [t for (w, m, _), group in counts.items() if (w, m) == (workload, method) for t in group]
                ),
                cpu_seconds_to_target=times.get(CPU_MEASURE, {}).get(workload, {}).get(method),
                final_peak_lr=statistics.median_low(sorted(final_lrs)) if final_lrs else None,
            )
    return results


def _median_with_prior(best: Iterable[Trial], measure: str) -> dict[tuple[str, str], float]:
    """Per (workload, method) of a method built on a prior run (any of its trials has a ``prior_trial_id``): the
    median over seeds of the best trial's time plus its prior run's cost (``prior_steps`` / ``prior_seconds``)."""
    best = list(best)
    with_prior = {(t.workload, t.method) for t in best if t.prior_trial_id is not None}
    totals: dict[tuple[str, str], list[float]] = {}
    for trial in best:
        key = (trial.workload, trial.method)
        if key in with_prior:
            prior_cost = float(getattr(trial, f"prior_{measure}") or 0)
            totals.setdefault(key, []).append(time_to_target(trial, measure) + prior_cost)
    return {key: float(np.median(values)) for key, values in totals.items()}


def _lr_grid(trials: Sequence[Trial]) -> tuple[float, ...]:
    """The peak lrs of a method's trials on a workload when they are an lr grid: in every seed at least two
    trials, all with the same optimizer and schedule and distinct peak lrs. Empty otherwise (a fixed list of
    configurations, a single self-tuning run)."""
    lrs: set[float] = set()
    for group in _group(trials, ("seed",)).values():
        seed_lrs = [t.peak_lr for t in group]
        if len(group) < 2 or None in seed_lrs or len(set(seed_lrs)) < len(group):
            return ()
        if len({(t.optimizer, t.schedule) for t in group}) > 1:
            return ()
        lrs.update(seed_lrs)
    return tuple(sorted(lrs))


def best_methods(values: Mapping[str, float | None], higher_is_better: bool) -> set[str]:
    """The methods with the best value (several on a tie); none when no value is finite."""
    finite = {m: v for m, v in values.items() if v is not None and math.isfinite(v)}
    if not finite:
        return set()
    best = max(finite.values()) if higher_is_better else min(finite.values())
    return {m for m, v in finite.items() if v == best}


def best_scores(scores: Mapping[str, float]) -> set[str]:
    """The methods with the highest benchmark score; none when every score is 0 (nobody reached a target)."""
    return best_methods({m: score for m, score in scores.items() if score > 0}, True)


@dataclasses.dataclass(frozen=True)
class MethodSummary:
    """One method over all workloads of a run: what the report's summary tables show."""

    method: str
    scores: dict[str, float]  # measure -> benchmark score
    trials_fewest: int  # trials per seed on a workload: the fewest and the most over workloads
    trials_most: int
    targets_reached: int  # workloads where the median seed's best trial reached the target
    best_final: int  # workloads where its final metric is the best (ties count for each tied method)
    lr_at_edge: int  # workloads where its chosen peak lr is at the edge of its grid
    lr_grids: int  # workloads where it tuned a peak-lr grid
    workloads: int  # workloads of the run


def method_summaries(scored: RunScores) -> dict[str, MethodSummary]:
    """Per method (in the run's order): scores, trial counts, targets reached, best finals, lrs at a grid edge."""
    best_final = {
        w: best_methods(
            {m: r.final_metric_mean for m, r in scored.results[w].items()},
            bool(scored.workload_info[w]["higher_is_better"]),
        )
        for w in scored.workloads
    }
    summaries = {}
    for method in scored.methods:
        results = [scored.results[w][method] for w in scored.workloads if method in scored.results[w]]
        counts = [r.trials for r in results]
        summaries[method] = MethodSummary(
            method=method,
            scores={measure: scored.scores[measure][method] for measure in scored.scores},
            trials_fewest=min(counts),
            trials_most=max(counts),
            targets_reached=sum(math.isfinite(r.steps_to_target) for r in results),
            best_final=sum(method in best_final[w] for w in scored.workloads),
            lr_at_edge=sum(r.lr_edge is not None for r in results),
            lr_grids=sum(bool(r.lr_grid) for r in results),
            workloads=len(scored.workloads),
        )
    return summaries
