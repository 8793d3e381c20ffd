"""Learning-rate schedules as pure functions of ``(step, total_steps)``; numpy only (no torch import).

Step convention: 0-based steps; step ``t`` of a ``T``-step run uses ``m(t, T)``; the final value is reached at
``t = T``; steps past ``T`` hold it. ``values(T)`` gives ``m(0..T-1)``; ``values(T, endpoint=True)`` ``m(0..T)``.
"""

from ._base import BoundSchedule, Param, Schedule, registry
from .compose import Join, Warmup
from .shapes import (
    WSD,
    Constant,
    Cosine,
    CosinePower,
    Exponential,
    InverseSqrt,
    LinearDecay,
    OneCycle,
    Polynomial,
    Rex,
    StepDecay,
)
from .spec import as_schedule, from_dict, load_schedule, parse_schedule
from .tabulated import Tabulated

# Lower-case constructors, the names users type.
constant = Constant
linear_decay = LinearDecay
cosine = Cosine
polynomial = Polynomial
step_decay = StepDecay
exponential = Exponential
inverse_sqrt = InverseSqrt
rex = Rex
wsd = WSD
cosine_power = CosinePower
onecycle = OneCycle
tabulated = Tabulated


def warmup(schedule, steps=None, fraction=None, start=0.0) -> Warmup:
    """Linear warmup from ``start`` over ``steps`` (or ``floor(fraction * T)``) steps, then ``schedule``."""
    return Warmup(schedule, steps=steps, fraction=fraction, start=start)


def join(pieces, boundaries) -> Join:
    """Chains ``pieces``; piece i runs on its own clock between ``boundaries[i-1] T`` and ``boundaries[i] T``."""
    return Join(pieces=pieces, boundaries=boundaries)


__all__ = [
    "Schedule",
    "Param",
    "BoundSchedule",
    "registry",
    "parse_schedule",
    "load_schedule",
    "from_dict",
    "as_schedule",
    "Constant",
    "LinearDecay",
    "Cosine",
    "Polynomial",
    "StepDecay",
    "Exponential",
    "InverseSqrt",
    "Rex",
    "WSD",
    "CosinePower",
    "OneCycle",
    "Warmup",
    "Join",
    "Tabulated",
    "constant",
    "linear_decay",
    "cosine",
    "polynomial",
    "step_decay",
    "exponential",
    "inverse_sqrt",
    "rex",
    "wsd",
    "cosine_power",
    "onecycle",
    "tabulated",
    "warmup",
    "join",
]
