"""Hyperparameter lists as JSON data: an ordered list replaces a grid (try point 1, then 2, ...).

``nadamw_list(k)`` returns the first k points of the AlgoPerf NAdamW baseline list (Dahl et al., arXiv
2306.07179, external tuning ruleset; provenance and its "to verify" status are in ``nadamw_algoperf.json``).
Each point builds its optimizer (``tuneless.torch.NAdamW``, imported lazily: this module is numpy-free and
torch-free) and its schedule:
linear warmup over ``warmup_fraction`` of the run, then cosine decay to 0 (AlgoPerf) or linear decay to 0 (ours).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from ..schedules import Schedule, Warmup, registry

__all__ = ["NAdamWPoint", "load_list", "nadamw_list"]

_POINT_FIELDS = ("lr", "one_minus_beta1", "beta2", "weight_decay", "warmup_fraction", "label_smoothing", "dropout")
SCHEDULE_KINDS = ("cosine", "linear")


@dataclass(frozen=True)
class NAdamWPoint:
    """One NAdamW hyperparameter point; beta1 = 1 - one_minus_beta1 of the source list."""

    lr: float
    beta1: float
    beta2: float
    weight_decay: float
    warmup_fraction: float
    label_smoothing: float
    dropout: float
    eps: float = 1e-8

    def optimizer(self, params: Any):
        """``tuneless.torch.nadamw.NAdamW`` over ``params`` with this point's lr, betas, eps and weight decay."""
        from ..torch.nadamw import NAdamW

        return NAdamW(params, lr=self.lr, betas=(self.beta1, self.beta2), eps=self.eps, weight_decay=self.weight_decay)

    def schedule(self, kind: str = "cosine") -> Schedule:
        """Linear warmup over ``warmup_fraction`` of the run, then ``kind`` decay to 0: "cosine" (AlgoPerf) or
        "linear" (tuneless's variant)."""
        if kind not in SCHEDULE_KINDS:
            raise ValueError(f"schedule kind must be one of {SCHEDULE_KINDS}, got {kind!r}")
        return Warmup(registry[kind](), fraction=self.warmup_fraction)


def load_list(name: str) -> dict[str, Any]:
    """The raw JSON list ``name`` shipped in tuneless/hparams (e.g. "nadamw_algoperf"), provenance included."""
    available = sorted(
        p.name[: -len(".json")] for p in resources.files(__package__).iterdir() if p.name.endswith(".json")
    )
    if name not in available:
        raise ValueError(f"hyperparameter list {name!r} not found; available: {available}")
    return json.loads(resources.files(__package__).joinpath(f"{name}.json").read_text(encoding="utf-8"))


def nadamw_list(k: int = 5) -> list[NAdamWPoint]:
    """The first ``k`` points (1 <= k <= 5) of the AlgoPerf NAdamW baseline list, in its order."""
    data = load_list("nadamw_algoperf")
    points = data["points"]
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= len(points):
        raise ValueError(f"k must be an integer from 1 to {len(points)}, got {k!r}")
    out = []
    for raw in points[:k]:
        values = {f: float(raw[f]) for f in _POINT_FIELDS}
        one_minus_beta1 = values.pop("one_minus_beta1")
        out.append(NAdamWPoint(beta1=1.0 - one_minus_beta1, eps=float(data["eps"]), **values))
    return out
