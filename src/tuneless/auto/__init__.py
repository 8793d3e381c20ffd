"""One run, no sweep: the pilot (an lr range test used as a stability cap) and the calibrated constants of the
one-run methods. ``tuneless.auto.one_run(optimizer, steps)`` (torch) is the default for one run with no sweep: the
optimizer inside a short-run Mechanic whose scale ``tuneless.auto.AutoLR``'s pilot seeds, then linear decay;
``AutoLR`` alone drives a run at a calibrated fraction of the pilot's cap. See docs/auto.md for what they were
measured to do, and where they lose."""

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
    "one_run",
    "constants",
    "geometric_median",
    "load_rows",
    "stability_cap",
]


def __getattr__(name: str) -> Any:
    if name in ("AutoLR", "one_run"):  # torch only when asked for
        from ..torch import auto

        return getattr(auto, name)
    raise AttributeError(f"module 'tuneless.auto' has no attribute {name!r}")
