"""Wrappers that build schedules from schedules: linear warmup and ``join`` (optax-style relative clocks)."""

from __future__ import annotations

import numpy as np

from ._base import Schedule
from .params import FLOAT, FLOATS, INT, SCHEDULE, SCHEDULES, Optional, Param, in_range, non_negative

__all__ = ["Warmup", "Join"]


class Warmup(Schedule):
    """Linear warmup from ``start`` to 1 over ``w`` steps, then ``schedule`` on its own clock.

    ``m(t) = start + (1 - start) t / w`` for ``t < w``; ``m(t) = schedule(t - w, T - w)`` for ``t >= w``.
    ``w`` is ``steps`` or ``floor(fraction * T)`` (give exactly one; whole steps, so the peak is reached at
    ``t = w``). Warmup for Adam-type optimizers: Goyal et al. 2017, Ma & Yarats 2021; AlgoPerf's NAdamW baseline
    uses a 5% linear warmup.
    """

    name = "warmup"
    params = (
        Param("schedule", SCHEDULE, positional=True),
        Param("steps", Optional(INT), None, non_negative, doc="warmup length in steps"),
        Param("fraction", Optional(FLOAT), None, in_range(0, 1, hi_open=True), doc="warmup length / T"),
        Param("start", FLOAT, 0.0, in_range(0, 1), doc="multiplier at t = 0"),
    )

    @property
    def non_increasing(self) -> bool:  # type: ignore[override]
        return False

    def _validate(self) -> None:
        if (self.steps is None) == (self.fraction is None):
            raise ValueError("warmup: give exactly one of steps=N or fraction=F")

    def warmup_steps(self, total_steps: int) -> float:
        return float(self.steps) if self.steps is not None else float(np.floor(self.fraction * total_steps))

    def _check_horizon(self, T: int) -> None:
        w = self.warmup_steps(T)
        if w >= T:
            raise ValueError(f"warmup: steps={w:g} must be < total_steps={T}")
        _check_inner(self.schedule, T - w, "after the warmup")

    def _eval(self, t: np.ndarray, T: int) -> np.ndarray:
        w = self.warmup_steps(T)
        inner_T = T - w
        out = np.empty_like(t)
        ramp = t < w
        out[ramp] = self.start + (1.0 - self.start) * t[ramp] / w
        rest = ~ramp
        if np.any(rest):
            # The wrapped schedule runs on its own clock: t - w of a horizon T - w (fractional when w is).
            out[rest] = _eval_relative(self.schedule, t[rest] - w, inner_T)
        return out


def _check_inner(schedule: Schedule, horizon: float, where: str) -> None:
    """A wrapped schedule's horizon checks, on its own clock, checked up front rather than at the first step
    that reaches it (so ``schedule(0, T)`` already refuses a horizon that a later step could not use)."""
    try:
        schedule._check_horizon(horizon)
    except ValueError as err:
        raise ValueError(f"the schedule {where} runs {horizon:g} steps: {err}") from None


def _eval_relative(schedule: Schedule, t: np.ndarray, horizon: float) -> np.ndarray:
    """Evaluates ``schedule`` on its own clock: ``t`` out of a (possibly fractional) ``horizon``."""
    return schedule._eval(np.clip(t, 0.0, horizon), horizon)


class Join(Schedule):
    """Pieces one after another: piece ``i`` runs on its own clock between ``b_i T`` and ``b_{i+1} T``.

    ``boundaries`` are the fractions of the horizon where the next piece starts (strictly increasing in (0, 1),
    one fewer than the pieces). Like ``optax.join_schedules``, each piece sees ``t - b_i T`` out of
    ``(b_{i+1} - b_i) T``. Example: ``join(pieces=[constant,linear],boundaries=[0.8])`` is WSD with a linear 20%
    cooldown.
    """

    name = "join"
    non_increasing = False
    params = (Param("pieces", SCHEDULES), Param("boundaries", FLOATS))

    def _validate(self) -> None:
        b = self.boundaries
        if len(self.pieces) < 2:
            raise ValueError(f"join: pieces needs at least 2 schedules, got {len(self.pieces)}")
        if len(b) != len(self.pieces) - 1:
            raise ValueError(
                f"join: boundaries={list(b)} must have {len(self.pieces) - 1} entries (one fewer than the pieces)"
            )
        if any(not (0 < x < 1) for x in b) or any(y <= x for x, y in zip(b, b[1:], strict=False)):
            raise ValueError(f"join: boundaries={list(b)} must be strictly increasing fractions in (0, 1)")

    def _edges(self, T: int) -> list[float]:
        return [0.0, *[x * T for x in self.boundaries], float(T)]

    def _check_horizon(self, T: int) -> None:
        edges = self._edges(T)
        for i, schedule in enumerate(self.pieces):
            _check_inner(schedule, edges[i + 1] - edges[i], f"of piece {i}")

    def _eval(self, t: np.ndarray, T: int) -> np.ndarray:
        edges = self._edges(T)
        out = np.empty_like(t)
        piece = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, len(self.pieces) - 1)
        for i, schedule in enumerate(self.pieces):
            mask = piece == i
            if np.any(mask):
                out[mask] = _eval_relative(schedule, t[mask] - edges[i], edges[i + 1] - edges[i])
        return out
