"""Targets: the metric value each workload must reach, set by a documented, re-runnable procedure.

Procedure (``tuneless bench set-targets --suite S``), after AlgoPerf (Dahl et al. 2023, section 4.4: targets
from well-tuned standard runs, median over repetitions):

1. run the ``cosine`` method (warmup 5%, cosine to zero) of suite S on its whole peak-lr grid, for every seed;
2. per seed, take the grid's best run by its validation metric at the budget;
3. read that run's validation metric at 3/4 of the budget (the first evaluation at or after step 0.75 T);
4. the target is the median over seeds of these values.

A tuned cosine run thus reaches the target at about 75% of the budget; a method that gets there sooner scores
better, one that never does scores a miss. The targets are written to ``targets/<suite>.json`` with the data hash
they were set on; the runner warns when the data hash differs (e.g. the stdlib corpus of another Python version).
"""

from __future__ import annotations

import datetime
import json
import statistics
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..output_files import write_text_atomic
from .store import Store

__all__ = ["TARGET_FRACTION", "TARGETS_DIR", "compute_targets", "load_targets", "targets_path"]

TARGETS_DIR = Path(__file__).with_name("targets")
TARGET_FRACTION = 0.75
TARGET_METHOD = "cosine"
PROCEDURE = (
    f"median over seeds of the validation metric at {TARGET_FRACTION:g} of the budget of the best (by final "
    f"metric) {TARGET_METHOD} run of the peak-lr grid"
)


def targets_path(suite: str) -> Path:
    return TARGETS_DIR / f"{suite}.json"


def load_targets(suite: str) -> dict[str, dict[str, Any]]:
    """The suite's targets by workload name (empty when none were set)."""
    path = targets_path(suite)
    if not path.is_file():
        return {}
    return json.loads(path.read_text())["workloads"]


def target_for(suite: str, name: str, data_hash: str, targets: Mapping[str, Mapping[str, Any]]) -> float:
    if name not in targets:
        raise ValueError(
            f"workload {name!r} has no target in {targets_path(suite)}: run `tuneless bench set-targets --suite "
            f"{suite}` first (or give the workload a target)"
        )
    entry = targets[name]
    if entry["data_hash"] != data_hash:
        warnings.warn(
            f"workload {name!r}: the data hash {data_hash} differs from {entry['data_hash']}, the data its target "
            f"was set on; rerun `tuneless bench set-targets --suite {suite}` for comparable targets",
            UserWarning,
            stacklevel=2,
        )
    return float(entry["target"])


def compute_targets(
    store: Store,
    run_id: str,
    data_hashes: Mapping[str, str],
    keep: Callable[[Mapping[str, Any]], bool] | None = None,
) -> dict[str, dict[str, Any]]:
    """Apply the procedure (module docstring) to the cosine trials of ``run_id`` (those ``keep`` accepts: e.g. the
    grid's, in a run that also bracketed the best lr)."""
    by_workload: dict[str, list[dict[str, Any]]] = {}
    for trial in store.trials(run_id):
        if trial["method"] == TARGET_METHOD and (keep is None or keep(trial)):
            by_workload.setdefault(trial["workload"], []).append(trial)
    out = {}
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    for name, trials in by_workload.items():
        per_seed = []
        for seed in sorted({t["seed"] for t in trials}):
            done = [t for t in trials if t["seed"] == seed and t["status"] == "done"]
            if not done:
                continue
            sign = -1 if done[0]["higher_is_better"] else 1
            best = min(done, key=lambda t: sign * t["final_metric"])
            step = TARGET_FRACTION * best["budget_steps"]
            value = next(m["metric"] for m in store.measurements(best["trial_id"]) if m["step"] >= step)
            per_seed.append({"seed": seed, "peak_lr": best["peak_lr"], "value": value})
        if not per_seed:
            raise ValueError(f"set-targets: every {TARGET_METHOD} trial of workload {name!r} failed; no target")
        first = trials[0]
        out[name] = {
            "target": statistics.median(s["value"] for s in per_seed),
            "metric": first["metric_name"],
            "higher_is_better": bool(first["higher_is_better"]),
            "budget_steps": first["budget_steps"],
            "data_hash": data_hashes[name],
            "per_seed": per_seed,
            # provenance per workload: a later set-targets of some workloads keeps the others' own
            "procedure": PROCEDURE,
            "run_id": run_id,
            "set_on": now,
        }
    return out


def write_targets(path: Path, suite: str, workloads: Mapping[str, Any]) -> None:
    """The targets file: the suite and, per workload, its target with its provenance (the procedure, the run, the
    time, each seed's value)."""
    document = {"suite": suite, "workloads": dict(sorted(workloads.items()))}
    write_text_atomic(path, json.dumps(document, indent=1) + "\n")
