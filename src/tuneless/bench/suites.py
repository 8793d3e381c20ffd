"""Benchmark suites as data: which workloads (with budget/grid overrides), which methods, how many seeds.

``quick`` is sized to finish (trials and report) within 10 minutes on a 2-core machine and still separate the
methods; ``full`` is the complete comparison. Targets for each suite live in ``targets/<suite>.json`` (set by
``tuneless bench set-targets --suite S``, see docs/bench.md).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from .methods import METHODS
from .workloads.logreg import DATASETS

__all__ = ["SUITES", "Suite", "get_suite"]


@dataclasses.dataclass(frozen=True)
class Suite:
    name: str
    workloads: Mapping[str, Mapping[str, Any]]  # workload name -> overrides of its attributes
    methods: tuple[str, ...]
    seeds: int
    description: str


ALL_METHODS = tuple(METHODS)

SUITES: dict[str, Suite] = {
    "quick": Suite(
        name="quick",
        workloads={
            **{
                f"logreg-{name}": {"budget_steps": 300, "eval_every": 15, "peak_lrs": (0.1, 0.3, 1.0, 3.0)}
                for name in ("breast_cancer", "digits", "caravan", "credit", "spam7", "oj")
            },
            "lm-stdlib": {"budget_steps": 300, "eval_every": 25, "peak_lrs": (1e-3, 3e-3, 1e-2)},
        },
        methods=ALL_METHODS,
        seeds=2,
        description="6 logistic regressions (300 SGD steps) + the stdlib byte LM (300 AdamW steps); 2 seeds",
    ),
    "full": Suite(
        name="full",
        workloads={
            **{f"logreg-{name}": {} for name in DATASETS},
            "fashion-mlp": {},
            "fashion-cnn": {},
            "lm-stdlib": {},
            "lm-kjv": {},
        },
        methods=ALL_METHODS,
        seeds=3,
        description="14 logistic regressions, Fashion-MNIST MLP and CNN, byte LMs on stdlib and KJV; 3 seeds",
    ),
}


def get_suite(name: str) -> Suite:
    if name not in SUITES:
        raise ValueError(f"--suite {name!r} is unknown; choose one of {list(SUITES)}")
    suite = SUITES[name]
    return suite
