"""Performance ratios, profiles and benchmark scores over a workload x method table of times to target
(Dahl et al. 2023, arXiv 2306.07179, section 4.5; the steps are in ``scoring``'s docstring)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["R_MAX", "benchmark_scores", "performance_profile", "performance_ratios"]

R_MAX = 4.0
Table = Mapping[str, Mapping[str, float]]  # workload -> method -> value


def _methods(table: Table) -> list[str]:
    """The methods of a workload x method table, in order of first appearance."""
    return list(dict.fromkeys(m for row in table.values() for m in row))


def performance_ratios(times: Table) -> dict[str, dict[str, float]]:
    """``r_{m,w} = t_{m,w} / min_{m'} t_{m',w}`` (Dahl et al. 2023, section 4.5).

    ``times`` maps workload -> method -> time to target (+inf = missed). A method absent from a workload's row
    counts as a miss there. The ratio is 1 for every method tied at the minimum (also when the minimum is 0), +inf
    for a miss, and +inf for every method on a workload that all methods miss (nobody reached the target).
    """
    methods = _methods(times)
    ratios: dict[str, dict[str, float]] = {}
    for workload, row in times.items():
        for method, value in row.items():
            if value is None or math.isnan(value) or value < 0:
                raise ValueError(
                    f"time to target of method {method!r} on workload {workload!r} is {value!r}: "
                    "expected a number >= 0 (or inf for a miss)"
                )
        t = {m: float(row.get(m, math.inf)) for m in methods}
        best = min(t.values())
        ratios[workload] = {m: _ratio(value, best) for m, value in t.items()}
    return ratios


def _ratio(t: float, best: float) -> float:
    if math.isinf(t):
        return math.inf
    if t == best:
        return 1.0
    return math.inf if best == 0 else t / best


def performance_profile(ratios: Table, taus: Sequence[float] | np.ndarray) -> dict[str, np.ndarray]:
    """``rho_m(tau) = |{w : r_{m,w} <= tau}| / |W|`` at each ``tau`` (Dahl et al. 2023, eq. in section 4.5)."""
    taus = np.asarray(taus, dtype=float)
    methods = _methods(ratios)
    if not ratios:
        return {}
    matrix = np.array([[row.get(m, math.inf) for m in methods] for row in ratios.values()])  # workloads x methods
    return {m: (matrix[:, j][None, :] <= taus[:, None]).mean(axis=1) for j, m in enumerate(methods)}


def benchmark_scores(ratios: Table, r_max: float = R_MAX) -> dict[str, float]:
    """``B_m = 1/(r_max - 1) * integral_1^{r_max} rho_m(tau) dtau`` (Dahl et al. 2023, section 4.5), exactly.

    ``rho_m`` is a mean of step functions ``[r_{m,w} <= tau]``; each integrates over ``[1, r_max]`` to
    ``max(0, r_max - r_{m,w})`` (ratios are >= 1; a ratio above ``r_max``, or +inf, gives 0). Hence
    ``B_m = mean_w max(0, r_max - r_{m,w}) / (r_max - 1)``, in [0, 1], and 1 exactly when the method is the fastest
    on every workload.
    """
    if not r_max > 1:
        raise ValueError(f"r_max={r_max!r}: the score integrates the profile over [1, r_max], so r_max must be > 1")
    methods = _methods(ratios)
    if not ratios:
        return {}
    return {
        m: float(np.mean([max(0.0, r_max - row.get(m, math.inf)) for row in ratios.values()]) / (r_max - 1))
        for m in methods
    }
