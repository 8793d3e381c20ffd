"""Benchmark suites as data: which workloads (with budget/grid overrides), which methods, how many seeds.

``quick`` is sized to finish (trials and report) within 10 minutes on a 2-core machine and still separate the
methods; ``full`` is the complete comparison; ``long`` runs the paper's claims (linear vs cosine, refined vs
linear) at 4x the full suite's horizon on the deep-learning workloads, where the claims are made (aimed at 2 hours
on 2 cores, measured at about 2.7, docs/bench.md; ``--resume`` continues it in a later sitting); ``gpu`` runs at
the horizons the paper's claims are about, on one GPU (``--device cuda``; sizing and its FLOP estimate:
``benchmarks/gpu_suite_estimate.py`` and docs/bench.md). Targets for each suite live in ``targets/<suite>.json``
(set by ``tuneless bench set-targets --suite S``, see docs/bench.md); a suite with ``targets_required=False`` runs
before its targets exist, with the targets unset (every time to target a miss: compare final metrics).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from ...registry import Registry
from .methods import METHODS
from .tuning import LR_RESOLUTION, check_tuning_measures
from .workloads.logreg import DATASETS

__all__ = ["SUITES", "Suite", "get_suite", "run_tuning_measures"]


@dataclasses.dataclass(frozen=True)
class Suite:
    name: str
    workloads: Mapping[str, Mapping[str, Any]]  # workload name -> overrides of its attributes
    methods: tuple[str, ...]
    seeds: int
    description: str
    targets_required: bool = True  # False: a workload without a target runs with it unset (final metrics only)
    lr_resolution: float = LR_RESOLUTION  # method-fair tuning's default for this suite (lr_bracketing)
    # the measures whose best peak lrs method-fair tuning brackets (lr_bracketing.TUNING_MEASURES): "steps" (fewest
    # steps to target, ties broken by the final metric: the score's best trial), "final" (the final metric: the
    # claims' per-seed value); the first also picks the prior trial a refined method starts from
    tune_by: tuple[str, ...] = ("steps", "final")


# The refined-online-<future model> variants measure the future models (docs/refine.md); the suites run the
# default, refined-online, and take the variants only when named with --methods.
ALL_METHODS = tuple(name for name in METHODS if not name.startswith("refined-online-"))

LOGREG_GRID = (0.03, 0.1, 0.3, 1.0, 3.0, 10.0)

# The gpu suite's methods: those the paper's claims are about. A name not registered (yet) in methods.METHODS is
# left out, so a method registered later (e.g. "refined-online") joins the suite by being listed here.
GPU_METHODS = tuple(
    name
    for name in (
        "constant",
        "cosine",
        "linear",
        "wsd",
        "refined",
        "refined-online",
        "schedulefree",
        "mechanic-linear",
    )
    if name in METHODS
)

# Byte-level transformers of ~10.9M parameters (6 layers, width 384, 6 heads), context 256, 16 windows per step
# (4096 tokens), 2500 AdamW steps; the Fashion-MNIST CNN at 10x the full suite's 1500 steps. bf16 autocast and
# torch.compile are on by default on CUDA (workloads/acceleration.py).
GPU_LM = {
    "context": 256,
    "width": 384,
    "layers": 6,
    "heads": 6,
    "batch_size": 16,
    "budget_steps": 2500,
    "eval_every": 250,
    "validation_windows": 256,
    "peak_lrs": (3e-4, 1e-3, 3e-3),
}
GPU_CNN = {"budget_steps": 15000, "eval_every": 1500}
# The gpu suite at smoke size (tiny models, a few steps) for a CPU check of its plumbing: the tests and
# benchmarks/gpu_check.py --smoke run it.
GPU_SMOKE_LM = {
    "context": 16,
    "width": 16,
    "layers": 1,
    "heads": 2,
    "batch_size": 4,
    "validation_windows": 4,
    "budget_steps": 12,
    "eval_every": 6,
    "peak_lrs": (3e-3,),
    "compile": False,
}
GPU_SMOKE_CNN = {"budget_steps": 12, "eval_every": 6, "batch_size": 16, "peak_lrs": (0.03,), "test_examples": 500}

SUITES: Registry[Suite] = Registry("suite")
for _name, _suite in {
    "quick": Suite(
        name="quick",
        workloads={
            **{f"logreg-{name}": {"budget_steps": 300, "eval_every": 15, "peak_lrs": LOGREG_GRID} for name in DATASETS},
            "fashion-mlp": {"budget_steps": 300, "eval_every": 50, "peak_lrs": (1e-3, 3e-3, 1e-2, 3e-2)},
            # 3 lrs a factor sqrt(3) apart around the best cosine lr of the earlier half-decade grid (0.01 on both
            # seeds, targets/quick.json): already within the quick suite's resolution of 2 around an interior best,
            # so method-fair tuning adds LM trials (6 s each) only at an edge
            "lm-stdlib": {"budget_steps": 240, "eval_every": 20, "peak_lrs": (0.005774, 0.01, 0.01732)},
        },
        methods=ALL_METHODS,
        seeds=2,
        description="14 logistic regressions (300 SGD steps, 6 peak lrs), Fashion-MNIST MLP (300 Adam steps, "
        "4 peak lrs; skipped when not installed), stdlib byte LM (240 AdamW steps, 3 peak lrs a factor 1.7 "
        "apart); 2 seeds; best lrs bracketed within a factor 2",
        lr_resolution=2.0,  # the trade that keeps `make bench` near 10 minutes on 2 cores (docs/results.md)
        tune_by=("steps",),  # the same trade: the final metric's best lr is not bracketed (its claims are ties)
    ),
    "full": Suite(
        name="full",
        workloads={
            **{f"logreg-{name}": {"peak_lrs": LOGREG_GRID} for name in DATASETS},
            "fashion-mlp": {},
            "fashion-cnn": {},
            "lm-stdlib": {},
            "lm-kjv": {},
        },
        methods=ALL_METHODS,
        seeds=3,
        description="14 logistic regressions (1000 steps), Fashion-MNIST MLP and CNN (1500 steps), byte LMs on the "
        "stdlib and the King James Bible (600 steps); 3 seeds",
    ),
    "gpu": Suite(
        name="gpu",
        workloads={"lm-stdlib": GPU_LM, "lm-kjv": GPU_LM, "fashion-cnn": GPU_CNN},
        methods=GPU_METHODS,
        seeds=2,
        description="one GPU (--device cuda): 10.9M-parameter byte transformers (context 256, 2500 AdamW steps, "
        "3 peak lrs) on the stdlib and the King James Bible, the Fashion-MNIST CNN at 15000 SGD steps; the "
        "claims' methods, 2 seeds, bf16 + torch.compile; targets unset until set on a GPU",
        targets_required=False,
    ),
    "long": Suite(
        name="long",
        workloads={
            # 4x the full horizon and evaluation interval; 3-point grids a factor sqrt(3) apart, centred on the best
            # cosine lrs that the 5-seed runs at these horizons bracketed (docs/results.md "Long suite": CNN
            # 0.025-0.076, lm-stdlib 0.0076-0.017, lm-kjv 0.0058-0.0076), so method-fair tuning reaches a factor 1.5
            # in about 2 more trials per seed (an edge best extends the grid). Until 2026-12-06 they were centred on
            # the full suite's best lrs (CNN 0.1, LMs 0.03), 2-4x too high: 7 trials per method and seed, not 5.
            "fashion-cnn": {"budget_steps": 6000, "eval_every": 600, "peak_lrs": (0.01925, 0.03333, 0.05774)},
            "lm-stdlib": {"budget_steps": 2400, "eval_every": 200, "peak_lrs": (0.005774, 0.01, 0.01732)},
            "lm-kjv": {"budget_steps": 2400, "eval_every": 200, "peak_lrs": (0.003333, 0.005774, 0.01)},
        },
        methods=("cosine", "linear", "refined"),
        # 2 seeds keep it near 2.7 hours on 2 cores (docs/bench.md "Sizing the long suite"); paired verdicts need 5
        # (`--seeds 5`, what docs/results.md reports), so a third seed would not turn a tie into a verdict
        seeds=2,
        # the claims' measure, the final metric, picks the best lr that method-fair tuning brackets (one measure:
        # a second would add trials to a suite that already takes about 2.7 hours)
        tune_by=("final",),
        description="the claims at 4x the full horizon: Fashion-MNIST CNN (6000 SGD steps), byte LMs on the stdlib "
        "and the King James Bible (2400 AdamW steps); cosine, linear, refined; 3-point grids; 2 seeds",
    ),
}.items():
    SUITES.add(_name, _suite)


def get_suite(name: str) -> Suite:
    if name not in SUITES:
        raise ValueError(f"suite={name!r} is unknown; choose one of {list(SUITES)}")
    suite = SUITES[name]
    return suite


def run_tuning_measures(suite: str, stored: Sequence[str] | None) -> tuple[str, ...]:
    """A run's tuning measures (``lr_bracketing.TUNING_MEASURES``): those given (stored in its config), else its
    suite's."""
    return check_tuning_measures(get_suite(suite).tune_by if stored is None else stored)
