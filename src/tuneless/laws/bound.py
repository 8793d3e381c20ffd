"""The last-iterate bound as a loss-curve law: ``L(t) = L0 + c * Omega_t(gamma)``.

``Omega_t(gamma)`` is the Theorem-10 bound (Defazio, Cutkosky, Mehta, Mishchenko, arXiv 2310.07831 v2) of a run
stopped at step ``t`` whose steps are ``gamma * eta_0..t`` (``eta`` the run's learning rates, ``D = 1``, gradient
norms ``G_t`` from a recorded trace or 1). Schaipp, Hägele, Taylor, Simsekli, Bach (arXiv 2501.18965) show that its
shape along a run follows LLM loss curves across schedules; Bu, Xu, Mao (arXiv 2602.07145) fit it on the first half
of a run to predict the second. The bound splits as ``Omega_t(gamma) = d_t / gamma + gamma * v_t`` with
``d_t = 1 / (2 F_t)`` and ``v_t`` the gradient-noise part at ``gamma = 1`` (:func:`tuneless.refine.bound_curve_terms`,
``O(T (B + n))`` for all ``t``), so the law is::

    L(t) = L0 + (c / gamma) d_t + (c gamma) v_t

Three parameters, ``L0`` (loss at infinite training), ``c`` (loss per unit of bound) and ``gamma`` (how the run's lrs
map to the bound's steps). The prediction is linear in ``(L0, c / gamma, c gamma)``: the fit starts from the
non-negative least-squares solution of the relative error in those three, then minimises the laws' common objective
(Huber on log loss, :class:`tuneless.laws.Law`) from it. That objective is convex in the prediction wherever
``|log pred - log true| < 1`` (all fits here), hence in ``(L0, c/gamma, c gamma)``: one minimum, reached from any
start, so the fit does not depend on ``n_starts`` or on where the search stops.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from scipy.optimize import nnls

from ..refine.bound_curve import bound_curve_terms
from .curves import Curve
from .models import LAWS, Law

__all__ = ["BoundLaw"]


@dataclass
class BoundLaw(Law):
    """``L(t) = L0 + c * Omega_t(gamma)``, the refined last-iterate bound as a loss-curve law (module docstring).

    ``grad_norms``: per-step gradient norms of the run (one per step of every schedule the law is given, e.g.
    ``read_trace(path).norms``), or ``None`` for constant norms (``G = 1``, what Schaipp et al. use by default). They
    are part of the run, not of the fit: ``save`` stores the parameters only.
    """

    grad_norms: np.ndarray | None = field(default=None, repr=False)

    name: ClassVar[str] = "bound"
    param_names: ClassVar[tuple[str, ...]] = ("L0", "c", "gamma")
    start_grid: ClassVar[dict[str, tuple[float, ...]]] = {"L0": (0.5, 0.9), "c": (1.0,), "gamma": (1.0,)}

    def _norms(self, size: int) -> float | np.ndarray:
        if self.grad_norms is None:
            return 1.0
        norms = np.asarray(self.grad_norms, dtype=float)
        if norms.ndim != 1 or norms.size != size:
            raise ValueError(
                f"grad_norms has shape {norms.shape} but the schedule has {size} steps: give one norm per step"
            )
        if not np.isfinite(norms).all() or (norms <= 0).any():
            bad = int(np.argmax(~np.isfinite(norms) | (norms <= 0)))
            raise ValueError(f"grad_norms must be finite and > 0; entry {bad} is {float(norms[bad])!r}")
        return norms

    def _features(self, lrs: np.ndarray, steps: np.ndarray, bin_steps: int = 1) -> dict:
        distance, noise = bound_curve_terms(lrs, self._norms(lrs.size))
        distance, noise = distance[steps], noise[steps]
        if not (np.isfinite(distance).all() and np.isfinite(noise).all()):
            bad = steps[np.argmax(~np.isfinite(distance + noise))]
            raise ValueError(f"the bound is infinite at step {bad} (learning rate 0 there); log steps with lr > 0")
        return {"distance": distance, "noise": noise}

    def _value_and_grad(self, theta, f, grad):
        L0, c, gamma = theta
        d, v = f["distance"], f["noise"]
        omega = d / gamma + gamma * v
        value = L0 + c * omega
        if not grad:
            return value, None
        return value, np.column_stack([np.ones_like(d), omega, c * (v - d / gamma**2)])

    def fit(self, curves, n_starts=3, max_iter=500, bin_steps=16, fixed=None):
        """The laws' fit (:meth:`Law.fit`), started around the least-squares solution (module docstring).

        ``n_starts`` and ``bin_steps`` are accepted for the common interface; the grid of starts is the
        least-squares point and two points around it, and there is nothing to bin.
        """
        curves = [curves] if isinstance(curves, Curve) else list(curves)
        if not curves:
            raise ValueError("fit needs at least one curve")
        feats = [self._features(np.asarray(c.lrs, float), np.asarray(c.steps)) for c in curves]
        d = np.concatenate([f["distance"] for f in feats])
        v = np.concatenate([f["noise"] for f in feats])
        y = np.concatenate([c.losses for c in curves])
        solution, _ = nnls(np.column_stack([np.ones_like(d), d, v]) / y[:, None], np.ones_like(y))
        L0, a, b = solution
        lowest = y.min()
        L0 = min(max(L0, 1e-3 * lowest), 0.999 * lowest)
        a, b = max(a, 1e-12 * lowest / d.max()), max(b, 1e-12 * lowest / max(v.max(), 1e-300))
        c, gamma = np.sqrt(a * b), np.sqrt(b / a)
        start = {"L0": (L0 / lowest,), "c": (c / 2, c, 2 * c), "gamma": (gamma,)}
        self.start_grid = start  # instance attribute: this fit's grid (the class default stays)
        try:
            return super().fit(curves, n_starts=n_starts, max_iter=max_iter, bin_steps=1, fixed=fixed)
        finally:
            del self.start_grid


LAWS.add(BoundLaw.name, BoundLaw)
