"""Closed-form schedule shapes. ``p = t / T`` is the progress; every formula cites its source.

Each class is one row of the README's schedule table. The step convention is in ``_base``: 0-based steps, the
final value is reached at ``t = T``.
"""

from __future__ import annotations

import numpy as np

from ._base import Schedule
from .params import FLOAT, FLOATS, REQUIRED, OneOf, Param, in_range, positive

__all__ = [
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
]

_FLOOR = Param("floor", FLOAT, 0.0, in_range(0, 1), doc="final multiplier, reached at t = T")


class Constant(Schedule):
    """``m(t) = 1``. The baseline every paper compares against."""

    name = "constant"

    def _eval(self, t: np.ndarray, T: int) -> np.ndarray:
        return np.ones_like(t)


class Linear(Schedule):
    """Linear decay to a floor: ``m = r + (1 - r)(1 - p)``; exactly ``r`` at ``t = T``.

    Worst-case optimal for the last iterate of SGD on convex Lipschitz problems (Defazio, Cutkosky, Mehta,
    Mishchenko 2023, arXiv 2310.07831, with floor 0).
    """

    name = "linear"
    params = (_FLOOR,)

    def _eval(self, t: np.ndarray, T: int) -> np.ndarray:
        r = self.floor
        return r + (1.0 - r) * (1.0 - t / T)


class Cosine(Schedule):
    """Cosine annealing: ``m = r + (1 - r)(1 + cos(pi p)) / 2`` (Loshchilov & Hutter 2017, SGDR).

    Equals ``torch.optim.lr_scheduler.CosineAnnealingLR(T_max=T, eta_min=r * base_lr)``.
    """

    name = "cosine"
    params = (_FLOOR,)

    def _eval(self, t: np.ndarray, T: int) -> np.ndarray:
        r = self.floor
        return r + (1.0 - r) * 0.5 * (1.0 + np.cos(np.pi * t / T))


class Polynomial(Schedule):
    """Polynomial decay: ``m = r + (1 - r)(1 - p)^P`` (``torch.optim.lr_scheduler.PolynomialLR`` with r = 0)."""

    name = "polynomial"
    params = (Param("power", FLOAT, 2.0, positive), _FLOOR)

    def _eval(self, t: np.ndarray, T: int) -> np.ndarray:
        r = self.floor
        return r + (1.0 - r) * (1.0 - t / T) ** self.power


def _milestones(ms: tuple[float, ...]) -> str | None:
    if len(ms) == 0 or any(not (0 < m < 1) for m in ms) or any(b <= a for a, b in zip(ms, ms[1:], strict=False)):
        return "must be a non-empty, strictly increasing list of fractions in (0, 1)"
    return None


class Step(Schedule):
    """Step decay: ``m = factor ^ (number of milestones m_i with t >= m_i T)``.

    The "30-60-90" ImageNet recipe (He et al. 2016) with the defaults; ``torch.optim.lr_scheduler.MultiStepLR``
    with milestones at the given fractions of the horizon.
    """

    name = "step"
    params = (
        Param("milestones", FLOATS, (0.3, 0.6, 0.9), _milestones),
        Param("factor", FLOAT, 0.1, in_range(0, 1, lo_open=True)),
    )

    def _eval(self, t: np.ndarray, T: int) -> np.ndarray:
        passed = np.zeros_like(t)
        for m in self.milestones:
            passed += t >= m * T
        return self.factor**passed


class Exponential(Schedule):
    """Exponential decay to a final ratio: ``m = final ^ p`` (``ExponentialLR`` with gamma = final^(1/T))."""

    name = "exponential"
    params = (Param("final", FLOAT, 0.01, in_range(0, 1, lo_open=True), doc="multiplier reached at t = T"),)
    value_range = (0.0, 1.0)

    def _eval(self, t: np.ndarray, T: int) -> np.ndarray:
        return self.final ** (t / T)


class InverseSqrt(Schedule):
    """Inverse square root: ``m = sqrt(s / (t + s))`` with timescale ``s`` in steps; ignores the horizon (anytime).

    After a warmup of ``w`` steps and ``s = w`` it is the Transformer schedule ``sqrt(w / t)`` (Vaswani et al.
    2017): ``warmup(inverse_sqrt(timescale=w),steps=w)``.
    """

    name = "inverse_sqrt"
    params = (Param("timescale", FLOAT, 1000.0, positive, doc="steps until the multiplier is 1/sqrt(2)"),)

    def _eval(self, t: np.ndarray, T: int) -> np.ndarray:
        return np.sqrt(self.timescale / (t + self.timescale))


class Rex(Schedule):
    """REX: ``m = (1 - p) / (1 - a p)`` (Chen, Wolfe, Kyrillidis 2021, arXiv 2107.04197).

    The paper's formula has ``a = 0.5`` (the default here); the authors' reference code uses ``a = 0.9``.
    ``a = 0`` is linear decay.
    """

    name = "rex"
    params = (Param("a", FLOAT, 0.5, in_range(0, 1, hi_open=True)),)

    def _eval(self, t: np.ndarray, T: int) -> np.ndarray:
        p = t / T
        return (1.0 - p) / (1.0 - self.a * p)


def _cooldown_shape(shape: str, q: np.ndarray, floor: float) -> np.ndarray:
    """Decay from 1 to ``floor`` as ``q`` goes 0 -> 1 (Hagele et al. 2024, arXiv 2405.18392, section 3)."""
    if shape == "exponential":
        return floor**q
    base = {
        "linear": lambda q: 1.0 - q,
        "cosine": lambda q: 0.5 * (1.0 + np.cos(np.pi * q)),
        "1-sqrt": lambda q: 1.0 - np.sqrt(q),
        "square": lambda q: 1.0 - q * q,
    }[shape](q)
    return floor + (1.0 - floor) * base


class WSD(Schedule):
    """Warmup-stable-decay (a.k.a. trapezoidal): 1 until the last ``cooldown * T`` steps, then a cooldown.

    With ``q = (t - (1 - c) T) / (c T)`` in [0, 1]: linear ``1 - q``; cosine ``(1 + cos(pi q)) / 2``; 1-sqrt
    ``1 - sqrt(q)`` (best in Hagele et al. 2024, arXiv 2405.18392); square ``1 - q^2``; exponential
    ``floor ^ q`` (needs floor > 0). Other shapes decay to ``floor``. A 20% cooldown matches or beats cosine
    (Hagele et al.); 10-20% is the usual range. Add warmup with ``warmup(wsd(...),...)``.
    """

    name = "wsd"
    params = (
        Param("cooldown", FLOAT, REQUIRED, in_range(0, 1, lo_open=True), doc="fraction of T spent decaying"),
        Param("shape", OneOf("linear", "cosine", "1-sqrt", "square", "exponential"), "linear"),
        _FLOOR,
    )

    def _validate(self) -> None:
        if self.shape == "exponential" and self.floor <= 0:
            raise ValueError(f"wsd: shape=exponential needs floor > 0 (got floor={self.floor!r}), e.g. floor=0.01")

    def _eval(self, t: np.ndarray, T: int) -> np.ndarray:
        c = self.cooldown * T
        q = np.clip(1.0 - (T - t) / c, 0.0, 1.0)  # T - t is exact at t = T: q = 1 and the end value exactly
        return _cooldown_shape(self.shape, q, self.floor)


class CosinePower(Schedule):
    """Cosine power annealing: ``m = (P^(c + 1) - P) / (P^2 - P)``, ``c = (1 + cos(pi p)) / 2`` (Hundt et al. 2019).

    Hundt, Jain, Hager 2019, sharpDARTS, arXiv 1903.09900; ``P`` (``power``) = 10 by default.
    """

    name = "cosine_power"
    params = (Param("power", FLOAT, 10.0, in_range(1, 1e6, lo_open=True)),)

    def _eval(self, t: np.ndarray, T: int) -> np.ndarray:
        P = self.power
        c = 0.5 * (1.0 + np.cos(np.pi * t / T))
        return (P ** (c + 1.0) - P) / (P * P - P)


class OneCycle(Schedule):
    """One-cycle (Smith & Topin 2017) exactly as ``torch.optim.lr_scheduler.OneCycleLR`` with cosine annealing.

    Multiplier of max_lr: cosine up from ``1/div_factor`` to 1 over the first ``pct_start`` of the run, then
    cosine down to ``1/(div_factor * final_div_factor)``, reached at ``t = T``. PyTorch's defaults:
    pct_start 0.3, div_factor 25, final_div_factor 1e4. Under tuneless' step convention (final value at t = T)
    it equals ``OneCycleLR(total_steps=T + 1)`` at every step.
    """

    name = "onecycle"
    non_increasing = False
    params = (
        Param("pct_start", FLOAT, 0.3, in_range(0, 1, lo_open=True, hi_open=True)),
        Param("div_factor", FLOAT, 25.0, in_range(1, 1e12)),
        Param("final_div_factor", FLOAT, 1e4, in_range(1, 1e12)),
    )

    def _check_horizon(self, T: int) -> None:
        if self.pct_start * (T + 1) - 1 <= 0:
            raise ValueError(f"onecycle: pct_start={self.pct_start!r} leaves no warm-up step at total_steps={T}")

    def _eval(self, t: np.ndarray, T: int) -> np.ndarray:
        start = 1.0 / self.div_factor
        end = start / self.final_div_factor
        up_end = self.pct_start * (T + 1) - 1.0

        def anneal(a: float, b: float, pct: np.ndarray) -> np.ndarray:
            return b + (a - b) / 2.0 * (np.cos(np.pi * pct) + 1.0)

        up = anneal(start, 1.0, np.clip(t / up_end, 0, 1))
        down = anneal(1.0, end, np.clip((t - up_end) / (T - up_end), 0, 1))
        return np.where(t <= up_end, up, down)
