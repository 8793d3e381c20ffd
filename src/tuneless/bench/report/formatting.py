"""How the benchmark's outputs write numbers and names (the terminal table, the HTML report, markdown tables)."""

from __future__ import annotations

import math
import re

from ..score.scoring import MethodSummary

__all__ = ["count", "direction", "format_mean_std", "format_number", "format_trial_counts", "slug"]

MISSING = "–"  # no value: the method did not run there, or every trial failed
MISSED = "missed"  # an infinite time to target


def count(n: int, noun: str) -> str:
    """``"1 seed"``, ``"3 seeds"``: a number and its noun, plural when it is not 1."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def format_number(value: float | None, digits: int = 4) -> str:
    """``digits`` significant digits; ``"–"`` for no value, ``"missed"`` for an infinite time to target."""
    if value is None:
        return MISSING
    if math.isinf(value):
        return MISSED
    return f"{value:.{digits}g}"


def format_mean_std(mean: float | None, std: float | None, digits: int = 4) -> str:
    """``mean ± std`` (the std to 2 digits); the mean alone when there is no std (one seed)."""
    if mean is None:
        return MISSING
    return format_number(mean, digits) if std is None else f"{format_number(mean, digits)} ± {format_number(std, 2)}"


def format_trial_counts(summary: MethodSummary) -> str:
    """Trials per workload and seed: ``"6"``, or ``"3–6"`` when workloads' grids differ in size."""
    if summary.trials_fewest == summary.trials_most:
        return str(summary.trials_most)
    return f"{summary.trials_fewest}–{summary.trials_most}"


def direction(higher_is_better: object) -> str:
    return "higher is better" if higher_is_better else "lower is better"


def slug(name: str) -> str:
    """A file-name and anchor-safe version of a workload name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
