"""``results.json`` of a benchmark report: per workload and method the numbers of :mod:`tuneless.bench.scoring`.

Per workload and method: the median steps and seconds to target (null when missed), the final metric's mean and std
over seeds, the chosen peak lr, the trials per seed (and, for a method built on a prior run, the seconds including
that run); per method the benchmark scores (time, steps) and the mean over workloads of its trials per seed.
"""

from __future__ import annotations

import math
from typing import Any

from ..record.rows import RunRow
from ..score.scoring import RunScores

__all__ = ["results_dict"]


def _finite_or_none(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def results_dict(run: RunRow, scored: RunScores) -> dict[str, Any]:
    """The content of ``results.json`` (the contract's layout; a miss or a missing value is ``null``)."""
    workloads: dict[str, Any] = {}
    for workload in scored.workloads:
        info = scored.workload_info[workload]
        methods = {}
        for method, result in scored.results[workload].items():
            entry = {
                "steps_to_target": _finite_or_none(result.steps_to_target),
                "seconds_to_target": _finite_or_none(result.seconds_to_target),
                "final_metric_mean": result.final_metric_mean,
                "final_metric_std": result.final_metric_std,
                "peak_lr": result.peak_lr,
                "trials": result.trials,
            }
            if result.cpu_seconds_to_target is not None:  # a run that recorded CPU times
                entry["cpu_seconds_to_target"] = _finite_or_none(result.cpu_seconds_to_target)
            if result.seconds_with_prior is not None:
                entry["total_seconds_with_prior"] = _finite_or_none(result.seconds_with_prior)
            methods[method] = entry
        workloads[workload] = {
            "metric": info["metric_name"],
            "higher_is_better": bool(info["higher_is_better"]),
            "target": info["target"],
            "methods": methods,
        }
    scores = {
        method: {
            "time": scored.scores["seconds"][method],
            "steps": scored.scores["steps"][method],
            **({"cpu_time": scored.scores["cpu_seconds"][method]} if "cpu_seconds" in scored.scores else {}),
            "trials_per_workload": scored.trials_per_workload[method],
        }
        for method in scored.methods
    }
    return {
        "run_id": run.run_id,
        "suite": run.suite,
        "created": run.created,
        "workloads": workloads,
        "scores": scores,
    }
