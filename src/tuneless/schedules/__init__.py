"""Learning-rate schedules as pure functions of ``(step, total_steps)``; numpy only (no torch import).

Step convention: 0-based steps; step ``t`` of a ``T``-step run uses ``m(t, T)``; the final value is reached at
``t = T``; steps past ``T`` hold it. ``values(T)`` gives ``m(0..T-1)``; ``values(T, endpoint=True)`` ``m(0..T)``.

Naming: each schedule has one name (``tuneless schedules list``), used in spec strings, in JSON and as its
constructor here: ``linear(floor=0.1)`` is the spec ``linear(floor=0.1)``. The constructors are the schedule
classes themselves (``linear is Linear``), so ``isinstance(s, Linear)`` works too.
"""

from ._base import BoundSchedule, Schedule, as_schedule, from_dict, load_schedule, parse_schedule, registry
from .compose import Join, Warmup
from .params import Param
from .shapes import (
    WSD,
    Constant,
    Cosine,
    CosinePower,
    Exponential,
    InverseSqrt,
    Linear,
    OneCycle,
    Polynomial,
    Rex,
    Step,
)
from .tabulated import Tabulated

# The constructors, under the schedules' names (one name per schedule: the spec's).
constant = Constant
linear = Linear
cosine = Cosine
polynomial = Polynomial
step = Step
exponential = Exponential
inverse_sqrt = InverseSqrt
rex = Rex
wsd = WSD
cosine_power = CosinePower
onecycle = OneCycle
warmup = Warmup
join = Join
tabulated = Tabulated

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
    "Linear",
    "Cosine",
    "Polynomial",
    "Step",
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
    "linear",
    "cosine",
    "polynomial",
    "step",
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
