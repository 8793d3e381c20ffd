"""Paired comparisons of two methods seed by seed, with a bootstrap interval and a verdict at a stated level.

Two methods run with the same seed see the same data order and the same initialisation, so their difference on
that seed is free of the seed-to-seed variation that dominates a comparison of means. The differences
``d_s = value_a(s) - value_b(s)`` over the seeds are resampled with replacement (the paired bootstrap, Efron &
Tibshirani 1993, *An Introduction to the Bootstrap*, ch. 13; percentile interval): the statistic is the mean of
the resampled differences for final metrics, and their lower median for steps to target (a missed target is
+inf; a seed where both missed is a difference of 0). With ``n <= EXACT_MAX_SEEDS`` seeds the bootstrap
distribution is computed exactly, over all ``C(2n-1, n)`` multisets of seeds with their multinomial
probabilities (no random numbers); above, from ``MONTE_CARLO_RESAMPLES`` resamples with a fixed seed.

Verdict: ``"better"`` or ``"worse"`` only when the ``level`` interval excludes zero **and** there are at least
``MIN_PAIRED_SEEDS`` seeds, otherwise ``"tie"``. The seed minimum is needed because with ``n`` seeds the percentile
interval excludes zero whenever all ``n`` differences share a sign, which two methods that do not differ do by chance
with probability ``2^(1-n)``: 1/2 with 2 seeds, 1/4 with 3, 1/16 (6%) with 5.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import statistics
from collections.abc import Sequence

import numpy as np

__all__ = [
    "EXACT_MAX_SEEDS",
    "MIN_PAIRED_SEEDS",
    "PAIRED_LEVEL",
    "PairedComparison",
    "bootstrap_interval",
    "paired_comparison",
    "paired_differences",
]

PAIRED_LEVEL = 0.95
MIN_PAIRED_SEEDS = 5
EXACT_MAX_SEEDS = 8  # C(15, 8) = 6435 multisets
MONTE_CARLO_RESAMPLES = 20_000
STATISTICS = ("mean", "median")


@dataclasses.dataclass(frozen=True)
class PairedComparison:
    """Method a against b on one workload: per-seed differences ``a - b``, their statistic and its interval."""

    seeds: tuple[int, ...]
    differences: tuple[float, ...]
    estimate: float
    low: float
    high: float
    level: float
    verdict: str  # "better", "worse", "tie" (for a), or "n/a" without a common seed


def paired_differences(
    values_a: dict[int, float], values_b: dict[int, float]
) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """The seeds both methods have, and ``a - b`` on each (``inf - inf`` = 0: both missed the target)."""
    seeds = tuple(sorted(set(values_a) & set(values_b)))
    differences = []
    for seed in seeds:
        a, b = float(values_a[seed]), float(values_b[seed])
        differences.append(0.0 if a == b else a - b)  # also inf == inf
    return seeds, tuple(differences)


def _statistic(values: np.ndarray, statistic: str) -> float:
    if statistic == "mean":
        return float(np.mean(values))
    return float(statistics.median_low(sorted(values.tolist())))


def bootstrap_interval(
    differences: Sequence[float], statistic: str = "mean", level: float = PAIRED_LEVEL
) -> tuple[float, float, float]:
    """``(estimate, low, high)``: the statistic of the differences and the paired bootstrap percentile interval
    (``low``: the smallest bootstrap value whose cumulative probability reaches ``(1 - level) / 2``; ``high``: the
    smallest reaching ``(1 + level) / 2``)."""
    if statistic not in STATISTICS:
        raise ValueError(f"statistic={statistic!r}: choose one of {list(STATISTICS)}")
    if not 0 < level < 1:
        raise ValueError(f"level={level!r} must be in (0, 1)")
    values = np.asarray(differences, dtype=float)
    n = len(values)
    if n == 0 or np.isnan(values).any():
        raise ValueError(f"differences={list(differences)!r}: need at least one difference, none NaN")
    estimate = _statistic(values, statistic)
    if n <= EXACT_MAX_SEEDS:
        outcomes, weights = [], []
        for combo in itertools.combinations_with_replacement(range(n), n):
            counts = np.bincount(combo, minlength=n)
            weight = math.factorial(n) / np.prod([math.factorial(c) for c in counts]) / n**n
            outcomes.append(_statistic(values[list(combo)], statistic))
            weights.append(weight)
        outcomes_array, weights_array = np.asarray(outcomes), np.asarray(weights)
    else:
        rng = np.random.default_rng(0)
        draws = rng.integers(0, n, size=(MONTE_CARLO_RESAMPLES, n))
        outcomes_array = np.array([_statistic(values[row], statistic) for row in draws])
        weights_array = np.full(MONTE_CARLO_RESAMPLES, 1.0 / MONTE_CARLO_RESAMPLES)
    order = np.argsort(outcomes_array, kind="stable")
    sorted_outcomes, cumulative = outcomes_array[order], np.cumsum(weights_array[order])

    def quantile(q: float) -> float:
        index = int(np.searchsorted(cumulative, q - 1e-12, side="left"))
        return float(sorted_outcomes[min(index, len(sorted_outcomes) - 1)])

    return estimate, quantile((1 - level) / 2), quantile((1 + level) / 2)


def paired_comparison(
    values_a: dict[int, float],
    values_b: dict[int, float],
    higher_is_better: bool,
    statistic: str = "mean",
    level: float = PAIRED_LEVEL,
    min_seeds: int = MIN_PAIRED_SEEDS,
) -> PairedComparison:
    """Method a against b from per-seed values (seed -> final metric, or steps to target with +inf for a miss)."""
    seeds, differences = paired_differences(values_a, values_b)
    if not seeds:
        return PairedComparison((), (), math.nan, math.nan, math.nan, level, "n/a")
    estimate, low, high = bootstrap_interval(differences, statistic, level)
    verdict = "tie"
    if len(seeds) >= min_seeds:
        if low > 0 or high < 0:
            a_larger = low > 0
            verdict = "better" if a_larger == higher_is_better else "worse"
    return PairedComparison(seeds, differences, estimate, low, high, level, verdict)
