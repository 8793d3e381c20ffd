"""Peak-lr transfer across horizons and schedules, and horizon extension, from the last-iterate bound.

Source: Schaipp, Hägele, Taylor, Simsekli, Bach (arXiv 2501.18965), on the Theorem-10 bound of Defazio, Cutkosky,
Mehta, Mishchenko (arXiv 2310.07831 v2). For a base lr ``gamma`` scaling multipliers ``m_t`` the bound is
``t1 / gamma + gamma (t2 + t3)``, minimised at ``gamma* = sqrt(t1 / (t2 + t3))``
(:func:`tuneless.refine.bound_at_best_base_lr`). A peak lr ``lr`` tuned for one schedule and horizon moves to
another as::

    lr_new = lr * gamma*(to_schedule, to_steps) / gamma*(from_schedule, from_steps)

With constant gradient norms this is ``~ sqrt(from_steps / to_steps)`` between two horizons of one shape (the
``1/sqrt(T)`` of the worst-case rate). Horizon extension keeps the tuned lr and instead scales the part of the run
still to come: the run's multipliers up to the step it reached, then ``rho`` times a continuation shape over the
new steps, with ``rho`` chosen so that the bound-optimal base lr of the extended run equals the tuned run's
(their "lowered second-stage lr" / "longer cooldown" rule).

Gradient norms: ``None`` means constant (``G = 1``, the paper's default). Given per-step norms of the tuned run,
transfer stretches them over the new horizon by progress ``t / T``; extension uses them for the steps already run
and their median over the last tenth of the run for the continuation.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import brentq

from ..schedules import Schedule, Tabulated, as_schedule
from .bound import bound_at_best_base_lr

__all__ = ["best_base_lr", "transfer_lr", "extend_schedule"]


def _steps(name: str, value: Any, minimum: int = 2) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name}={value!r} must be an integer >= {minimum}")
    return int(value)


def _norms(grad_norms: Any, steps: int) -> np.ndarray | float:
    """``grad_norms`` checked: ``None`` -> 1.0, a scalar > 0, or one finite norm > 0 per step of the tuned run."""
    if grad_norms is None:
        return 1.0
    G = np.asarray(grad_norms, dtype=float)
    if G.ndim == 0:
        if not (np.isfinite(G) and G > 0):
            raise ValueError(f"grad_norms={float(G)!r} must be finite and > 0")
        return float(G)
    if G.ndim != 1 or G.size != steps:
        raise ValueError(
            f"grad_norms has shape {G.shape}; give one norm per step of the tuned run ({steps} steps) or a scalar"
        )
    bad = ~np.isfinite(G) | (G <= 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"grad_norms must be finite and > 0; entry {i} of {G.size} is {float(G[i])!r}")
    return G


def _stretch(G: np.ndarray | float, steps: int) -> np.ndarray | float:
    if np.ndim(G) == 0:
        return G
    return np.interp(np.linspace(0.0, 1.0, steps), np.linspace(0.0, 1.0, np.size(G)), G)


def _multipliers(name: str, schedule: Schedule | str, steps: int) -> np.ndarray:
    m = as_schedule(schedule).values(steps)
    if not m[-1] > 0:
        raise ValueError(
            f"{name} ends with multiplier {float(m[-1])!r} at its last step {steps - 1}: "
            "the bound needs a positive last step"
        )
    return m


def best_base_lr(schedule: Schedule | str, steps: int, grad_norms: Any = None) -> float:
    """``gamma*``, the base lr minimising the Theorem-10 bound of ``schedule`` over ``steps`` steps (``D = 1``)."""
    steps = _steps("steps", steps)
    G = _norms(grad_norms, steps)
    return bound_at_best_base_lr(_multipliers("schedule", schedule, steps), G)[1]


def transfer_lr(
    lr: float,
    from_schedule: Schedule | str,
    from_steps: int,
    to_schedule: Schedule | str,
    to_steps: int,
    grad_norms: Any = None,
) -> float:
    """The peak lr for ``to_schedule`` over ``to_steps`` steps, given ``lr`` tuned for ``from_schedule`` over
    ``from_steps``: ``lr * gamma*_new / gamma*_tuned`` (module docstring; Schaipp et al., arXiv 2501.18965).

    ``grad_norms``: ``None`` (constant), a scalar, or the tuned run's per-step norms (``from_steps`` of them; the
    new run gets them stretched over its horizon). Schedules are ``Schedule`` objects or spec strings.
    """
    if not (isinstance(lr, (int, float, np.floating)) and np.isfinite(lr) and lr > 0):
        raise ValueError(f"lr={lr!r} must be a finite number > 0")
    from_steps, to_steps = _steps("from_steps", from_steps), _steps("to_steps", to_steps)
    G = _norms(grad_norms, from_steps)
    tuned = bound_at_best_base_lr(_multipliers("from_schedule", from_schedule, from_steps), G)[1]
    new = bound_at_best_base_lr(_multipliers("to_schedule", to_schedule, to_steps), _stretch(G, to_steps))[1]
    return float(lr) * new / tuned


def _extension_steps(steps: int, reached: int, new_steps: int) -> tuple[int, int, int]:
    """``(steps, reached, new_steps)`` checked: ``1 <= reached <= steps`` and at least two new steps."""
    steps = _steps("steps", steps)
    reached = _steps("reached", reached, 1)
    if reached > steps:
        raise ValueError(f"reached={reached} must be <= steps={steps} (the step the run got to)")
    new_steps = _steps("new_steps", new_steps)
    if new_steps < reached + 2:
        raise ValueError(f"new_steps={new_steps} must be >= reached + 2 = {reached + 2} (at least two new steps)")
    return steps, reached, new_steps


def extend_schedule(
    schedule: Schedule | str,
    steps: int,
    reached: int,
    new_steps: int,
    continuation: Schedule | str = "linear",
    grad_norms: Any = None,
) -> tuple[Tabulated, float]:
    """The schedule that continues a run of ``schedule`` over ``steps`` steps, stopped at step ``reached``, to
    ``new_steps`` steps at the same peak lr: ``(extended, rho)``.

    Steps ``0..reached-1`` keep ``schedule``'s multipliers over ``steps``; steps ``reached..new_steps-1`` run
    ``rho * continuation`` over the ``new_steps - reached`` new steps (``continuation`` starts at 1: ``"linear"``
    is a new linear cooldown, ``"constant"`` a lowered second stage, ``"wsd(cooldown=0.2)"`` both). ``rho`` makes
    the bound-optimal base lr of the extended run equal to that of the tuned run (Schaipp et al., arXiv
    2501.18965); of several solutions, the largest. The result tabulates the ``new_steps + 1`` multipliers
    ``0..new_steps``, so ``ScheduleLR(optimizer, extended, new_steps)`` resumed from the run's checkpoint at step
    ``reached`` gives exactly these lrs. Raises ``ValueError`` when no ``rho`` in ``[1e-4, 10]`` matches.
    """
    steps, reached, new_steps = _extension_steps(steps, reached, new_steps)
    G = _norms(grad_norms, steps)
    original = as_schedule(schedule)
    tuned = bound_at_best_base_lr(_multipliers("schedule", original, steps), G)[1]
    head = original.values(steps)[:reached]
    shape = as_schedule(continuation)
    rest = new_steps - reached
    tail = shape.values(rest, endpoint=True)
    if not tail[-2] > 0:
        raise ValueError(f"continuation {shape.spec} ends with multiplier 0 before its last step: the bound needs > 0")
    if np.ndim(G) == 0:
        G_ext = G
    else:
        late = np.median(G[-max(1, steps // 10) :])
        G_ext = np.concatenate([G[:reached], np.full(rest, late)])

    def mismatch(log_rho: float) -> float:
        m = np.concatenate([head, np.exp(log_rho) * tail[:-1]])
        return np.log(bound_at_best_base_lr(m, G_ext)[1]) - np.log(tuned)

    grid = np.linspace(np.log(1e-4), np.log(10.0), 81)
    values = np.array([mismatch(x) for x in grid])
    crossings = np.flatnonzero(np.sign(values[:-1]) != np.sign(values[1:]))
    if crossings.size == 0:
        raise ValueError(
            f"no continuation factor rho in [1e-4, 10] keeps the bound-optimal base lr of {schedule!s} over {steps} "
            f"steps when extended from step {reached} to {new_steps} with {shape.spec} (the mismatch of log gamma* "
            f"ranges over [{values.min():.3g}, {values.max():.3g}])"
        )
    i = crossings[-1]
    rho = float(np.exp(brentq(mismatch, grid[i], grid[i + 1], xtol=1e-12)))
    extended = np.concatenate([head, rho * tail])
    meta = {
        "extended_from": original.spec,
        "steps": steps,
        "reached": reached,
        "continuation": shape.spec,
        "rho": rho,
        "total_steps": new_steps,  # the run it was written for: ScheduleLR warns when driven at another horizon
    }
    return Tabulated(extended, meta), rho
