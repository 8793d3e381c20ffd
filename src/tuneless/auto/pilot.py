"""The pilot: a learning-rate range test used as a stability cap, not as the optimum (numpy only).

A pilot of at most ``PILOT_FRACTION`` of the run raises the lr geometrically, one step at a time, from ``lo`` to
``hi`` (Smith, "Cyclical Learning Rates for Training Neural Networks", 2017, section 3.3: the "LR range test").
Training is *unstable* at the first step whose loss is not finite or exceeds ``UNSTABLE_FACTOR`` times the loss of
the untrained model (the median of the first ``REFERENCE_STEPS`` losses, taken at lrs too small to move the weights):
the model has become worse than it started. That lr is the **cap**. Below it, the pilot also notes the lr of its
lowest loss (after a 3-step running median, which takes out single-batch noise): the **min-loss lr**, where the ramp
made the most progress. The run that follows uses ``min(c_cap * cap, c_min * min-loss lr)``, both fractions
calibrated per optimizer family on the benchmark's grid results (``calibration.py``): the cap says where training
breaks, the min-loss lr where it learns fastest, the calibration how far below them a full run's best lr lies.

Why the untrained loss and not the lowest loss so far (fastai's ``4 x min``): on near-separable data the lowest
single-batch loss falls to ~1e-3, so ``4 x min`` fires on noise; "worse than untrained" is scale-free and needs no
smoothing, which a pilot of 30 steps could not afford.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from ..schedules._base import check_total_steps

__all__ = [
    "FAMILIES",
    "FEATURES",
    "PILOT_FRACTION",
    "RAMPS",
    "REFERENCE_STEPS",
    "UNSTABLE_FACTOR",
    "Pilot",
    "PilotResult",
    "check_family",
    "is_unstable",
    "min_loss_lr",
    "stability_cap",
]

#: optimizer family -> the pilot's lr range (lo, hi): seven decades around the usual lrs of each family
#: (plain/momentum SGD on standardised data: 1e-4 .. 1e3; Adam-type: 1e-6 .. 10).
RAMPS: dict[str, tuple[float, float]] = {"sgd": (1e-4, 1e3), "adam": (1e-6, 10.0)}
FAMILIES = tuple(RAMPS)
#: the pilot's share of the run's steps (the issue's budget: at most 10% on top of one run)
PILOT_FRACTION = 0.1
#: losses at the start of the ramp that define the untrained loss (their lrs are 1e-4..1e-3 of the ramp's top)
REFERENCE_STEPS = 3
#: unstable: a loss above this multiple of the untrained loss (1.5: above the batch-to-batch noise of the
#: untrained loss on the benchmark's workloads, below the jump at divergence)
UNSTABLE_FACTOR = 1.5
#: what a pilot measures (``PilotResult.features``): the calibration's ratios scale these
FEATURES = ("cap", "min_loss")
#: fewest pilot steps: the reference steps plus a ramp of at least this many steps
MIN_PILOT_STEPS = 10


def check_family(family: object) -> str:
    """``"sgd"`` or ``"adam"`` (the family decides the pilot's range and the calibrated constants)."""
    if family not in RAMPS:
        raise ValueError(f"family={family!r} is unknown; choose one of {list(FAMILIES)} (Adam-type optimizers: 'adam')")
    return str(family)


@dataclasses.dataclass(frozen=True)
class Pilot:
    """The plan of a pilot: ``steps`` optimizer steps whose lrs rise geometrically from ``lo`` to ``hi``.

    ``Pilot.for_run(total_steps, family)`` sizes it at ``PILOT_FRACTION`` of the run (at least ``MIN_PILOT_STEPS``).
    """

    lo: float
    hi: float
    steps: int

    def __post_init__(self) -> None:
        if not (0 < self.lo < self.hi and math.isfinite(self.hi)):
            raise ValueError(f"pilot lr range lo={self.lo!r}, hi={self.hi!r}: need 0 < lo < hi < inf")
        if not (isinstance(self.steps, int) and self.steps >= MIN_PILOT_STEPS):
            raise ValueError(f"pilot steps={self.steps!r} must be an integer >= {MIN_PILOT_STEPS}")

    @classmethod
    def for_run(cls, total_steps: int, family: str, fraction: float = PILOT_FRACTION) -> Pilot:
        total = check_total_steps(total_steps)
        if not 0 < fraction <= 1:
            raise ValueError(f"pilot fraction={fraction!r} must be in (0, 1]")
        lo, hi = RAMPS[check_family(family)]
        return cls(lo, hi, max(MIN_PILOT_STEPS, math.floor(fraction * total)))

    def lr(self, step: int) -> float:
        """The lr of pilot step ``step`` (0-based): ``lo * (hi/lo) ** (step / (steps - 1))``; ``hi`` at the last."""
        if not 0 <= step < self.steps:
            raise ValueError(f"pilot step {step} is outside 0..{self.steps - 1}")
        return self.lo * (self.hi / self.lo) ** (step / (self.steps - 1))

    @property
    def resolution(self) -> float:
        """The factor between the lrs of two consecutive pilot steps (the cap is known to this factor)."""
        return (self.hi / self.lo) ** (1 / (self.steps - 1))


@dataclasses.dataclass(frozen=True)
class PilotResult:
    """What a pilot measured: ``cap`` (the lr at which training became unstable; ``hi`` when it never did), the step
    it happened at, the pilot steps spent (``step + 1``, or all of them) and whether instability was seen."""

    cap: float
    step: int
    steps_used: int
    unstable: bool
    reference_loss: float
    min_loss_lr: float

    @property
    def features(self) -> dict[str, float]:
        """What the calibration scales: ``{"cap": ..., "min_loss": ...}`` (``FEATURES``)."""
        return dict(zip(FEATURES, (self.cap, self.min_loss_lr), strict=True))


def stability_cap(
    lrs: Sequence[float],
    losses: Sequence[float],
    factor: float = UNSTABLE_FACTOR,
    reference_steps: int = REFERENCE_STEPS,
) -> PilotResult:
    """The first lr of the ramp at which the loss is not finite or above ``factor`` x the untrained loss.

    ``lrs`` and ``losses`` are the pilot's steps so far (same length, lrs rising). The untrained loss is the median
    of the first ``reference_steps`` losses. A pilot that never became unstable returns its last lr with
    ``unstable=False`` (the caller decides the fallback). Raises ``ValueError`` when the reference losses are not
    finite (the pilot diverged at its smallest lrs: every lr of the ramp) or there are too few steps.
    """
    if len(lrs) != len(losses):
        raise ValueError(f"pilot: {len(lrs)} lrs but {len(losses)} losses")
    if factor <= 1:
        raise ValueError(f"pilot: factor={factor!r} must be > 1")
    if len(losses) <= reference_steps:
        raise ValueError(f"pilot: {len(losses)} steps; need more than the {reference_steps} reference steps")
    head = [float(x) for x in losses[:reference_steps]]
    if not all(math.isfinite(x) for x in head):
        raise ValueError(
            f"pilot: the loss is not finite at the ramp's smallest lrs ({lrs[0]:.3g}..{lrs[reference_steps - 1]:.3g}): "
            "training diverges at every lr tried; check the model and the loss, or start the ramp lower"
        )
    reference = sorted(head)[len(head) // 2]
    for step in range(reference_steps, len(losses)):
        if is_unstable(float(losses[step]), reference, factor):
            return PilotResult(float(lrs[step]), step, step + 1, True, reference, min_loss_lr(lrs, losses, step))
    last = len(lrs) - 1
    return PilotResult(float(lrs[last]), last, len(lrs), False, reference, min_loss_lr(lrs, losses, len(lrs)))


def min_loss_lr(lrs: Sequence[float], losses: Sequence[float], until: int) -> float:
    """The lr of the lowest 3-step running median of the losses among steps ``0..until-1`` (the steps before the
    cap; the window is cut at both ends and never looks past ``until``). The first such step on ties."""
    if until < 1:
        raise ValueError("min_loss_lr: no step before the cap")
    smooth = [
        sorted(losses[max(0, i - 1) : min(until, i + 2)])[(min(until, i + 2) - max(0, i - 1)) // 2]
        for i in range(until)
    ]
    best = min(range(until), key=lambda i: (smooth[i], i))
    return float(lrs[best])


def is_unstable(loss: float, reference: float, factor: float = UNSTABLE_FACTOR) -> bool:
    """One step's verdict, as ``stability_cap`` gives it (for a pilot that watches its losses as they come)."""
    return not math.isfinite(loss) or loss > factor * reference
