"""Time of ``bound_curve`` (the Theorem-10 bound of every prefix of a run, arXiv 2310.07831 v2) on the public
72,000-step schedules, against the direct evaluation of each prefix (``last_iterate_bound``, ``O(t)`` each, so
``O(T^2)`` in all) on a subsample of prefixes, extrapolated; and the largest relative difference on that subsample.

    .venv/bin/python benchmarks/bound_curve_speed.py [--repeats N]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from tuneless.laws.public import public_lrs
from tuneless.refine import bound_curve, last_iterate_bound


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"{'schedule':16} {'T':>6} {'bound_curve s':>14} {'direct (est.) s':>16} {'ratio':>7} {'max rel diff':>13}")
    for name in ("cosine_72000", "constant_72000", "wsd_20000_24000"):
        lrs = public_lrs(name)
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            omega = bound_curve(lrs)
            times.append(time.perf_counter() - start)
        fast = min(times)
        sample = np.unique(np.linspace(1, lrs.size - 1, 40).astype(int))
        start = time.perf_counter()
        direct = np.array([last_iterate_bound(lrs[: t + 1], 1.0) for t in sample])
        per_step = (time.perf_counter() - start) / sample.sum()  # seconds per step of prefix length
        estimate = per_step * lrs.size**2 / 2
        diff = np.max(np.abs(omega[sample] - direct) / direct)
        print(f"{name:16} {lrs.size:6d} {fast:14.3f} {estimate:16.1f} {estimate / fast:7.0f} {diff:13.1e}")


if __name__ == "__main__":
    main()
