"""Calibrated constants of the one-run methods, leave-one-workload-out (numpy only).

The table (``calibration.json``, package data, written by ``benchmarks/auto_calibration.py`` from a benchmark
store) holds, per workload and horizon: the optimizer family, the grid-tuned best peak lr of each grid method
(median over seeds, in log space) and what the pilot measured on the same workload with that method's optimizer
(its cap and min-loss lr, geometric medians over seeds; ``pilot.py``). From it come, per optimizer family:

* the **control**'s lr: one peak lr for every workload of the family, the geometric median of the best lrs;
* the **pilot ratios** of a method: per pilot feature f (``cap``, ``min_loss``), the geometric median of
  ``best lr / f``; the method's peak lr is ``min_f ratio_f * f`` of the run's own pilot (``Constants.peak_lr``).

Leave one workload out: the constants a workload is run with come from the *other* workloads' rows only, so a
workload's own grid never sets its own constants (``exclude=workload``); a user's workload, absent from the table,
gets the constants of all rows. The geometric median (the median of logs) is the lr that minimises the mean absolute
log-distance to the rows' best lrs: a miss by a factor 2 costs the same either side, and one odd workload cannot
drag it.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .pilot import check_family

__all__ = ["CALIBRATION_FILE", "CalibrationRow", "Constants", "constants", "geometric_median", "load_rows"]

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")


@dataclasses.dataclass(frozen=True)
class CalibrationRow:
    """One workload at one horizon: its family, each grid method's best peak lr, and the pilot's cap."""

    workload: str
    family: str
    budget_steps: int
    best_lr: Mapping[str, float]  # grid method (e.g. "linear", "schedulefree") -> best peak lr
    pilot: Mapping[str, Mapping[str, float]]  # grid method -> pilot feature ("cap", "min_loss") -> its lr

    def __post_init__(self) -> None:
        check_family(self.family)
        values = [v for features in self.pilot.values() for v in features.values()] + list(self.best_lr.values())
        if not all(isinstance(v, (int, float)) and math.isfinite(v) and v > 0 for v in values):
            raise ValueError(f"calibration row {self.workload!r}: lrs and cap must be finite and > 0, got {values}")


@dataclasses.dataclass(frozen=True)
class Constants:
    """The constants for one family, and the workloads they were taken from."""

    family: str
    control_lr: float  # the control's peak lr (linear decay)
    ratio: Mapping[str, Mapping[str, float]]  # grid method -> pilot feature -> geometric median of best lr / feature
    workloads: tuple[str, ...]

    def peak_lr(self, method: str, features: Mapping[str, float]) -> float:
        """``min over features f of ratio[method][f] * features[f]`` (a feature without a ratio is ignored)."""
        if method not in self.ratio:
            raise ValueError(f"method={method!r} has no calibrated ratio; calibrated: {sorted(self.ratio)}")
        used = [r * features[f] for f, r in self.ratio[method].items() if f in features]
        if not used:
            raise ValueError(f"pilot features {sorted(features)} have no calibrated ratio for {method!r}")
        return min(used)


def geometric_median(values: Iterable[float]) -> float:
    """``exp(median(log values))`` (the mean of the two middle logs for an even count)."""
    logs = sorted(math.log(v) for v in values)
    if not logs:
        raise ValueError("geometric_median of no values")
    mid = len(logs) // 2
    return math.exp(logs[mid] if len(logs) % 2 else (logs[mid - 1] + logs[mid]) / 2)


def constants(
    rows: Sequence[CalibrationRow], family: str, exclude: str | None = None, control_method: str = "linear"
) -> Constants:
    """The constants of ``family`` from every row of that family except those of workload ``exclude``.

    Raises ``ValueError`` when no row is left (the family has no other calibrated workload).
    """
    check_family(family)
    used = [r for r in rows if r.family == family and r.workload != exclude]
    if not used:
        left = f" besides {exclude!r}" if exclude else ""
        raise ValueError(f"no calibrated {family} workload{left}: the one-run constants need at least one")
    ratio: dict[str, dict[str, float]] = {}
    for m in sorted(set().union(*(r.best_lr for r in used))):
        paired = [r for r in used if m in r.best_lr and m in r.pilot]
        features = sorted(set().union(*(r.pilot[m] for r in paired)))
        ratio[m] = {
            f: geometric_median(r.best_lr[m] / r.pilot[m][f] for r in paired if f in r.pilot[m]) for f in features
        }
    ratio = {m: r for m, r in ratio.items() if r}
    control_rows = [r.best_lr[control_method] for r in used if control_method in r.best_lr]
    control = geometric_median(control_rows) if control_rows else math.nan
    return Constants(family, control, ratio, tuple(sorted({r.workload for r in used})))


def rows_from_dicts(items: Iterable[Mapping[str, Any]]) -> list[CalibrationRow]:
    return [
        CalibrationRow(
            str(d["workload"]),
            str(d["family"]),
            int(d["budget_steps"]),
            dict(d["best_lr"]),
            {m: dict(f) for m, f in d["pilot"].items()},
        )
        for d in items
    ]


def load_rows(path: str | Path | None = None) -> list[CalibrationRow]:
    """The calibration rows of ``path`` (default: the package's ``calibration.json``)."""
    data = json.loads(Path(path or CALIBRATION_FILE).read_text())
    return rows_from_dicts(data["rows"])
