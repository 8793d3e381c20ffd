"""The targets procedure (``catalog.targets``) applied to a stored run's cosine grid trials."""

from __future__ import annotations

import datetime
import statistics
from collections.abc import Callable, Mapping
from typing import Any

from ..catalog.targets import PROCEDURE, TARGET_FRACTION, TARGET_METHOD
from ..record.rows import Trial
from ..record.store import Store

__all__ = ["compute_targets"]


def compute_targets(
    store: Store,
    run_id: str,
    data_hashes: Mapping[str, str],
    keep: Callable[[Trial], bool] | None = None,
) -> dict[str, dict[str, Any]]:
    """Apply the procedure (module docstring) to the cosine trials of ``run_id`` (those ``keep`` accepts: e.g. the
    grid's, in a run that also bracketed the best lr)."""
    by_workload: dict[str, list[Trial]] = {}
    for trial in store.trials(run_id):
        if trial.method == TARGET_METHOD and (keep is None or keep(trial)):
            by_workload.setdefault(trial.workload, []).append(trial)
    out = {}
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    for name, trials in by_workload.items():
        per_seed = []
        for seed in sorted({t.seed for t in trials}):
            done = [t for t in trials if t.seed == seed and t.status == "done"]
            if not done:
                continue
            sign = -1 if done[0].higher_is_better else 1
            best = min(done, key=lambda t: sign * t.final_metric)
            step = TARGET_FRACTION * best.budget_steps
            value = next(m.metric for m in store.measurements(best.trial_id) if m.step >= step)
            per_seed.append({"seed": seed, "peak_lr": best.peak_lr, "value": value})
        if not per_seed:
            raise ValueError(f"set-targets: every {TARGET_METHOD} trial of workload {name!r} failed; no target")
        first = trials[0]
        out[name] = {
            "target": statistics.median(s["value"] for s in per_seed),
            "metric": first.metric_name,
            "higher_is_better": first.higher_is_better,
            "budget_steps": first.budget_steps,
            "data_hash": data_hashes[name],
            "per_seed": per_seed,
            # provenance per workload: a later set-targets of some workloads keeps the others' own
            "procedure": PROCEDURE,
            "run_id": run_id,
            "set_on": now,
        }
    return out
