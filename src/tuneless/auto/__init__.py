"""One run, no sweep: the pilot (an lr range test used as a stability cap) and the calibrated constants of the
one-run methods. ``tuneless.auto.AutoLR`` (torch) drives a whole run: pilot, then linear decay at a calibrated
fraction of the cap. See docs/auto.md for what it was measured to do, and where it loses."""

from __future__ import annotations

from typing import Any

from .calibration import CalibrationRow, Constants, constants, geometric_median, load_rows
from .pilot import FAMILIES, PILOT_FRACTION, Pilot, PilotResult, check_family, stability_cap

__all__ = [
    "FAMILIES",
    "PILOT_FRACTION",
    "AutoLR",
    "CalibrationRow",
    "Constants",
    "Pilot",
    "PilotResult",
    "check_family",
    "constants",
    "geometric_median",
    "load_rows",
    "stability_cap",
]


def __getattr__(name: str) -> Any:
    if name == "AutoLR":  # torch only when asked for
        from ..torch.auto import AutoLR

        return AutoLR
    raise AttributeError(f"module 'tuneless.auto' has no attribute {name!r}")
