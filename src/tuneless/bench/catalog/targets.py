"""Targets: the metric value each workload must reach, set by a documented, re-runnable procedure.

Procedure (``tuneless bench set-targets --suite S``), after AlgoPerf (Dahl et al. 2023, section 4.4: targets
from well-tuned standard runs, median over repetitions):

1. run the ``cosine`` method (warmup 5%, cosine to zero) of suite S on its whole peak-lr grid, for every seed;
2. per seed, take the grid's best run by its validation metric at the budget;
3. read that run's validation metric at 3/4 of the budget (the first evaluation at or after step 0.75 T);
4. the target is the median over seeds of these values.

A tuned cosine run thus reaches the target at about 75% of the budget; a method that gets there sooner scores
better, one that never does scores a miss. The targets are written to ``targets/<suite>.json`` with the data hash
they were set on (``score.targets.compute_targets`` applies the procedure to a stored run); the runner warns
when the data hash differs (e.g. the stdlib corpus of another Python version).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ...output_files import write_text_atomic

__all__ = [
    "PROCEDURE",
    "TARGET_FRACTION",
    "TARGET_METHOD",
    "TARGETS_DIR",
    "load_targets",
    "target_for",
    "targets_path",
    "write_targets",
]

TARGETS_DIR = Path(__file__).parents[1] / "targets"  # package data: tuneless/bench/targets/<suite>.json
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


def write_targets(path: Path, suite: str, workloads: Mapping[str, Any]) -> None:
    """The targets file: the suite and, per workload, its target with its provenance (the procedure, the run, the
    time, each seed's value)."""
    document = {"suite": suite, "workloads": dict(sorted(workloads.items()))}
    write_text_atomic(path, json.dumps(document, indent=1) + "\n")
