"""The last-iterate bound for any step-size sequence, and the sequence that minimises it.

Source: Defazio, Cutkosky, Mehta, Mishchenko, arXiv 2310.07831 v2, Theorem 10 (convex, Lipschitz losses; the form
as implemented in Schaipp et al.'s code). With steps ``eta_1..eta_T`` (1-based here), gradient norms
``G_t = ||g_t||``, ``D = ||x_1 - x*||`` and ``S = sum_t eta_t``::

    E[f(x_T) - f*] <= D^2 / (2 S) + sum_t eta_t^2 G_t^2 / (2 S)
                      + 1/2 * sum_{k<T} [eta_k / sum_{t>k} eta_t] * [sum_{t>=k} eta_t^2 G_t^2 / sum_{t>=k} eta_t]

The bound needs ``eta_T > 0`` (a zero last step makes the ``k = T-1`` term infinite): pass the ``T`` multipliers a
``T``-step run uses, ``schedule.values(T)``, whose last entry is positive for linear decay and cosine.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import optimize

__all__ = ["last_iterate_bound", "bound_at_best_base_lr", "bound_optimal_step_sizes"]


def _inputs(schedule_values: Any, grad_norms: Any, D: float) -> tuple[np.ndarray, np.ndarray]:
    eta = np.asarray(schedule_values, dtype=float)
    if eta.ndim != 1 or len(eta) < 2:
        raise ValueError(f"schedule_values must be a 1-D array of at least 2 steps, got shape {eta.shape}")
    if not np.isfinite(eta).all() or (eta < 0).any():
        raise ValueError("schedule_values must be finite and >= 0")
    G = np.asarray(grad_norms, dtype=float)
    if G.ndim != 0 and G.shape != eta.shape:
        raise ValueError(f"grad_norms has shape {G.shape}: give a scalar or one norm per step, shape {eta.shape}")
    G = np.broadcast_to(G, eta.shape)
    if not np.isfinite(G).all() or (G < 0).any():
        raise ValueError("grad_norms must be finite and >= 0 (a scalar or one per step)")
    if not (np.isfinite(D) and D > 0):
        raise ValueError(f"D={D!r} must be a finite number > 0 (the distance from the start to a minimiser)")
    return eta, G


def _suffix_sum(x: np.ndarray) -> np.ndarray:
    """``out[k] = sum_{t>=k} x[t]``."""
    return np.cumsum(x[::-1])[::-1]


def _bound_terms(eta: np.ndarray, sq_norms: np.ndarray) -> tuple[float, float, float]:
    """(S, sum_t eta_t^2 G_t^2, sum_{k<T} [...]) of the Theorem-10 bound; the last is inf if a step with
    ``eta_k > 0`` has no positive step after it."""
    S = eta.sum()
    energy = eta**2 * sq_norms
    E = _suffix_sum(eta)  # E[k] = sum_{t>=k} eta_t
    Q = _suffix_sum(energy)  # Q[k] = sum_{t>=k} eta_t^2 G_t^2
    k = np.arange(len(eta) - 1)
    after = E[k + 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(eta[k] > 0, eta[k] / after * Q[k] / E[k], 0.0)
    return float(S), float(energy.sum()), float(terms.sum())


def last_iterate_bound(schedule_values: Any, grad_norms: Any, D: float = 1.0) -> float:
    """The Theorem-10 bound on ``E[f(x_T) - f*]`` for the step sizes ``schedule_values`` (formula in the module
    docstring); ``grad_norms`` a scalar ``G`` or one norm per step. ``inf`` if a positive step is followed only by
    zero steps (e.g. a schedule whose last step is 0)."""
    eta, G = _inputs(schedule_values, grad_norms, D)
    S, energy, tail = _bound_terms(eta, G**2)
    if S <= 0:
        raise ValueError("schedule_values are all 0: the bound needs at least one positive step")
    return (D**2 + energy) / (2 * S) + 0.5 * tail


def bound_at_best_base_lr(schedule_values: Any, grad_norms: Any, D: float = 1.0) -> tuple[float, float]:
    """``(bound, base_lr)``: the Theorem-10 bound of ``base_lr * schedule_values`` at the base lr minimising it.

    The bound of ``eta * m`` is ``a / eta + b * eta`` with ``a = D^2 / (2 S_m)`` and ``b`` the rest evaluated at
    ``m`` (every other term is linear in ``eta``), so the best base lr is ``sqrt(a / b)`` and the bound ``2 sqrt(a b)``.
    For constant ``G`` and ``T = 10^4`` this is about ``2.0 D G / sqrt(T)`` for linear decay, 2.06 for cosine and
    3.28 for constant (arXiv 2310.07831 v2).
    """
    m, G = _inputs(schedule_values, grad_norms, D)
    S, energy, tail = _bound_terms(m, G**2)
    if S <= 0:
        raise ValueError("schedule_values are all 0: the bound needs at least one positive step")
    a = D**2 / (2 * S)
    b = energy / (2 * S) + 0.5 * tail
    if b == 0:  # zero gradients: the bound falls as the base lr grows
        return 0.0, float("inf")
    return 2 * np.sqrt(a * b), float(np.sqrt(a / b))


def _bound_and_gradient(eta: np.ndarray, sq_norms: np.ndarray, D: float) -> tuple[float, np.ndarray]:
    """The bound (module docstring) and its gradient in ``eta``, O(T) with prefix sums.

    With ``E_k = sum_{t>=k} eta_t``, ``F_k = E_{k+1}``, ``Q_k = sum_{t>=k} eta_t^2 c_t`` (``c = G^2``),
    ``R_k = eta_k Q_k / (F_k E_k)`` for ``k < T`` and ``P = sum_t eta_t^2 c_t``::

        d bound / d eta_j = eta_j c_j / S - (D^2 + P) / (2 S^2)
                          + 1/2 * ( [j<T] Q_j / (F_j E_j) + 2 eta_j c_j sum_{k<=j, k<T} eta_k / (F_k E_k)
                                    - sum_{k<j} R_k / F_k - sum_{k<=j, k<T} R_k / E_k )
    """
    T = len(eta)
    S = eta.sum()
    energy = eta**2 * sq_norms
    P = energy.sum()
    E = _suffix_sum(eta)
    Q = _suffix_sum(energy)
    F = E[1:]  # F_k = E_{k+1}, k = 0..T-2
    Ek, Qk, etak = E[:-1], Q[:-1], eta[:-1]
    u = etak / (F * Ek)
    R = u * Qk
    value = (D**2 + P) / (2 * S) + 0.5 * R.sum()

    own = np.append(Qk / (F * Ek), 0.0)  # [j<T] Q_j / (F_j E_j)
    u_upto = np.append(np.cumsum(u), u.sum())  # sum_{k<=j, k<T} u_k
    R_over_F_before = np.concatenate(([0.0], np.cumsum(R / F)))  # sum_{k<j} R_k / F_k
    R_over_E_upto = np.append(np.cumsum(R / Ek), (R / Ek).sum())  # sum_{k<=j, k<T} R_k / E_k
    grad = eta * sq_norms / S - (D**2 + P) / (2 * S**2)
    grad = grad + 0.5 * (own + 2 * eta * sq_norms * u_upto - R_over_F_before - R_over_E_upto)
    assert grad.shape == (T,)
    return float(value), grad


def bound_optimal_step_sizes(grad_norms: Any, D: float = 1.0, max_iterations: int = 20_000) -> np.ndarray:
    """The step sizes ``eta_1..eta_T > 0`` that minimise the Theorem-10 bound for the gradient norms ``grad_norms``
    (one per step, ``T >= 2``), by L-BFGS-B with the analytic gradient, from the constant schedule at its best base
    lr.

    Returns absolute step sizes (the bound's scale is meaningful); ``Tabulated(eta / eta.max())`` makes a schedule.
    With constant norms the optimum is close to linear decay (arXiv 2310.07831 v2); the bound barely constrains the
    last step.
    """
    G = np.asarray(grad_norms, dtype=float)
    if G.ndim != 1 or len(G) < 2:
        raise ValueError(f"grad_norms must be a 1-D array of at least 2 steps, got shape {G.shape}")
    if not np.isfinite(G).all() or (G <= 0).any():
        raise ValueError("grad_norms must be finite and > 0")
    if not (np.isfinite(D) and D > 0):
        raise ValueError(f"D={D!r} must be a finite number > 0 (the distance from the start to a minimiser)")
    sq_norms = G**2
    _, base_lr = bound_at_best_base_lr(np.ones_like(G), G, D)
    # Optimise eta / base_lr so the variables are of order 1.
    scale = base_lr

    def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = _bound_and_gradient(x * scale, sq_norms, D)
        return value, grad * scale

    result = optimize.minimize(
        objective,
        np.ones_like(G),
        jac=True,
        method="L-BFGS-B",
        bounds=[(1e-9, None)] * len(G),
        options={"maxiter": max_iterations, "maxfun": 2 * max_iterations, "ftol": 1e-15, "gtol": 1e-12},
    )
    return result.x * scale
