"""Store rows made by hand for tests: a ``Trial`` with every column, the ones a test does not name at a plain
default (a finished trial of workload ``w`` without results), and the config of a hand-made run."""

from __future__ import annotations

from typing import Any

from tuneless.bench.record.rows import Trial
from tuneless.bench.run.config import BenchConfig

DEFAULTS: dict[str, Any] = {
    "trial_id": "t",
    "run_id": "r",
    "workload": "w",
    "method": "m",
    "peak_lr": 0.1,
    "seed": 0,
    "schedule": "linear",
    "optimizer": "sgd",
    "status": "done",
    "error": None,
    "metric_name": "loss",
    "higher_is_better": False,
    "target": None,
    "budget_steps": 100,
    "steps_to_target": None,
    "seconds_to_target": None,
    "final_metric": None,
    "train_seconds": None,
    "prior_trial_id": None,
    "prior_seconds": 0.0,
    "prior_steps": 0,
    "started": 0.0,
    "finished": None,
    "train_cpu_seconds": None,
    "cpu_seconds_to_target": None,
}


def trial_row(**fields: Any) -> Trial:
    """A ``Trial`` with ``fields`` (``higher_is_better`` may be given as 0/1, as stored)."""
    unknown = set(fields) - set(DEFAULTS)
    if unknown:
        raise TypeError(f"trial_row: not trial columns: {sorted(unknown)}")
    return Trial.from_columns({**DEFAULTS, **fields})


def quick_config(seeds: int = 1, **fields: Any) -> BenchConfig:
    """The config of a hand-made run of the quick suite (no workloads or methods unless given)."""
    return BenchConfig(**{"suite": "quick", "workloads": [], "methods": [], "seeds": seeds, "overrides": {}, **fields})
