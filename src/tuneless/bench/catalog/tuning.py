"""How a suite tunes each grid method's peak lr (method-fair tuning, ``run.lr_bracketing``): the resolution its
best lr is bracketed to and the measures that pick the best lr."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["LR_RESOLUTION", "TUNING_MEASURES", "check_resolution", "check_tuning_measures"]

LR_RESOLUTION = 1.5  # the best lr is bracketed by tried lrs within this factor on both sides
TUNING_MEASURES = ("steps", "final")  # what picks the best lr to bracket (lr_bracketing, step 1)


def check_resolution(resolution: float) -> float:
    """``resolution`` as a float > 1, or a ValueError naming it."""
    if isinstance(resolution, bool) or not isinstance(resolution, (int, float)) or not resolution > 1:
        raise ValueError(f"lr_resolution={resolution!r} must be a number > 1 (a factor between neighbouring lrs)")
    if not math.isfinite(resolution):
        raise ValueError(f"lr_resolution={resolution!r} must be finite")
    return float(resolution)


def check_tuning_measures(measures: Sequence[str]) -> tuple[str, ...]:
    """``measures`` as a tuple if it names one or more distinct ``TUNING_MEASURES``, else a ValueError."""
    if isinstance(measures, str) or not measures or len(set(measures)) != len(measures):
        raise ValueError(f"tune_by={measures!r} must be a list of distinct measures from {list(TUNING_MEASURES)}")
    for measure in measures:
        if measure not in TUNING_MEASURES:
            raise ValueError(f"tune_by: {measure!r} is unknown; choose from {list(TUNING_MEASURES)}")
    return tuple(measures)
