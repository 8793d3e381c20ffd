"""Choosing a schedule with a fitted law: the family parameters, or a free non-increasing schedule, that
minimise the predicted final loss ``L(T-1)`` (Luo et al. 2025, sec. 5, optimise the schedule through the law).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np
from scipy.optimize import minimize, minimize_scalar

from ..schedules import Schedule, Tabulated, Warmup, registry
from .curves import schedule_lrs
from .models import Law

WSD_SHAPES = ("linear", "cosine", "1-sqrt", "square")
# family -> (parameter, bounds, spec template); the WSD shape is searched over WSD_SHAPES.
FAMILIES = {
    "wsd": ("cooldown", (0.01, 0.6), "wsd(cooldown={x:.6g},shape={shape})"),
    "cosine": ("floor", (0.0, 1.0), "cosine(floor={x:.6g})"),
    "linear": ("floor", (0.0, 1.0), "linear(floor={x:.6g})"),
    "rex": ("a", (0.0, 0.99), "rex(a={x:.6g})"),
}


@dataclass(frozen=True)
class Choice:
    """The chosen schedule: its spec (multiplier of ``peak_lr``), parameters and predicted final loss."""

    spec: str
    params: dict
    final_loss: float


def _with_warmup(spec: str, warmup_steps: int) -> str:
    return f"warmup({spec},steps={warmup_steps})" if warmup_steps else spec


def _family_member(family: str, x: float, shape: str | None, warmup_steps: int) -> Schedule:
    """The schedule ``_with_warmup(template.format(x=x, shape=shape), warmup_steps)`` names, as an object (``x`` to
    the 6 significant digits the spec shows)."""
    arguments = {FAMILIES[family][0]: float(f"{x:.6g}")} | ({"shape": shape} if shape else {})
    schedule = registry[family](**arguments)
    return Warmup(schedule, steps=warmup_steps) if warmup_steps else schedule


def predicted_final_loss(law: Law, spec: str | Schedule, total_steps: int, peak_lr: float) -> float:
    """``L(T-1)`` the law predicts for the schedule ``peak_lr * spec`` over ``total_steps`` steps."""
    lrs = schedule_lrs(spec, total_steps, peak_lr)
    return float(law.predict(lrs, [total_steps - 1])[0])


def _whole(value: Any) -> bool:
    """An int, or a float (numpy included) holding a whole number: what the schedules accept as a step count."""
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value) and int(value) == value


def _check_run(total_steps: int, peak_lr: float, warmup_steps: int) -> tuple[int, int]:
    """``(total_steps, warmup_steps)`` as ints, after checking them and ``peak_lr``."""
    if not (_whole(total_steps) and total_steps >= 2):
        raise ValueError(f"total_steps={total_steps!r} must be an integer >= 2")
    if not (isinstance(peak_lr, Real) and 0 < peak_lr < float("inf")):
        raise ValueError(f"peak_lr={peak_lr!r} must be a finite number > 0")
    if int(warmup_steps) != warmup_steps or not 0 <= warmup_steps < total_steps:
        raise ValueError(f"warmup_steps={warmup_steps!r} must be an integer in [0, total_steps = {total_steps})")
    return int(total_steps), int(warmup_steps)


def best_schedule(law: Law, family: str, total_steps: int, peak_lr: float, warmup_steps: int = 0) -> Choice:
    """Family parameter (WSD cooldown fraction and shape, cosine floor, linear floor, REX ``a``) minimising the
    predicted final loss, by bounded scalar minimisation (per WSD shape) of :func:`predicted_final_loss`."""
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; choose one of {sorted(FAMILIES)}")
    total_steps, warmup_steps = _check_run(total_steps, peak_lr, warmup_steps)
    name, bounds, template = FAMILIES[family]
    best = None
    for shape in WSD_SHAPES if family == "wsd" else (None,):

        def loss(x: float, shape=shape) -> float:
            return predicted_final_loss(law, _family_member(family, x, shape, warmup_steps), total_steps, peak_lr)

        # coarse grid, then a bounded refinement around the best grid point
        grid = np.linspace(*bounds, 13)
        values = [loss(x) for x in grid]
        i = int(np.argmin(values))
        lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
        res = minimize_scalar(loss, bounds=(lo, hi), method="bounded", options={"xatol": 1e-4})
        x, value = (res.x, res.fun) if res.fun <= values[i] else (grid[i], values[i])
        if best is None or value < best.final_loss:
            params = {name: float(x)} | ({"shape": shape} if shape else {})
            best = Choice(_with_warmup(template.format(x=x, shape=shape), warmup_steps), params, float(value))
    return best


def optimal_schedule(
    law: Law, total_steps: int, peak_lr: float, warmup_steps: int = 0, knots: int = 64, points: int = 257
) -> tuple[Tabulated, float]:
    """Free-form non-increasing schedule after the warmup minimising the predicted final loss.

    Parametrisation: ``knots`` multipliers ``m_j = prod_{i<=j} r_i`` with ratios ``r_i in [0, 1]`` (so the
    schedule never increases and starts at the peak), linearly interpolated over the steps after the warmup;
    L-BFGS-B on the ratios (numerical gradient). Returns the whole run's multipliers as a :class:`Tabulated`
    over ``points`` progress points (``meta`` holds the predicted final loss) and the predicted final loss.
    """
    total_steps, warmup_steps = _check_run(total_steps, peak_lr, warmup_steps)
    for name, value in (("knots", knots), ("points", points)):
        if not (_whole(value) and value >= 2):
            raise ValueError(f"optimal_schedule: {name}={value!r} must be an integer >= 2")
    knots, points = int(knots), int(points)
    warm = np.linspace(0, 1, warmup_steps, endpoint=False) if warmup_steps else np.zeros(0)
    after = np.linspace(0, 1, total_steps - warmup_steps)
    knot_at = np.linspace(0, 1, knots)

    def multipliers(ratios: np.ndarray) -> np.ndarray:
        return np.concatenate([warm, np.interp(after, knot_at, np.cumprod(ratios))])

    def final(ratios: np.ndarray) -> float:
        return float(law.predict(peak_lr * multipliers(ratios), [total_steps - 1])[0])

    start = np.r_[1.0, np.full(knots - 1, 0.1 ** (1 / (knots - 1)))]  # exponential decay to 0.1
    res = minimize(final, start, method="L-BFGS-B", bounds=[(1.0, 1.0)] + [(0.0, 1.0)] * (knots - 1))
    values = multipliers(res.x)
    progress = np.linspace(0, 1, points)
    table = np.interp(progress * total_steps, np.arange(total_steps), values)
    return Tabulated(table, meta={"law": law.name, "predicted_final_loss": float(res.fun)}), float(res.fun)
