"""Online refinement: the refined schedule re-planned during the run from the gradient norms seen so far.

Offline refinement (Defazio, Cutkosky, Mehta, Mishchenko, arXiv 2310.07831, refinement algorithm) needs the norms
of every step of a previous run: ``s_k = w_k * sum_{p>k} w_p`` with ``w_k = ||g_k||_2^-2`` (SGD) or
``||g_k||_1^-1`` (Adam-type). Online, at step ``t`` of a ``T``-step run, the norms of steps ``0..t-1`` are known and
those of steps ``t..T`` are not: a *future model* predicts them from the median-smoothed norms seen so far, and the
plan is the refined schedule of the whole run (seen and predicted norms), ``s / max(s)``, over steps ``0..T``.

Step convention: the plan has ``T + 1`` values for steps ``0..T`` with weights for steps ``0..T`` (step ``T``'s
norm is predicted like the others), so ``s_T = 0``: the plan reaches 0 at ``T`` and constant norms give exactly
``1 - k / T``, linear decay to zero, for every future model. :func:`online_plan` returns its values at steps
``t..T``.

Future models (:data:`FUTURE_MODELS`; ``g`` is the smoothed norm, ``t`` the number of steps seen):

* ``"constant"``: every unseen norm equals the last smoothed norm ``g_{t-1}``;
* ``"trend"``: a power law in the step, ``log g_k = log g_{t-1} + b (log(k + 1) - log t)``, with ``b`` the
  least-squares slope of ``log g`` against ``log(step + 1)`` over the last half of the seen steps (at least one
  smoothing window), clipped to ``[-1, 1]`` (a norm at most proportional to the step, or to its inverse);
* ``"stretch"``: the seen shape stretched to the horizon: the whole run's norm curve is taken to be the seen curve
  stretched from steps ``[0, t - 1]`` to ``[0, T]``; so the norm of step ``k >= t`` changes from the last smoothed
  norm as the seen norms did from step ``t (t - 1) / T`` to step ``k (t - 1) / T`` (interpolated).

Median smoothing (:func:`~tuneless.refine.median_smooth`, width ``W`` about ``tau * T`` of the whole run, shrunk to
the seen steps): every smoothed norm is a median of ``W`` raw ones (the end padded by reflection, which counts each
of the last ``W // 2`` norms twice). So a burst of at most ``W // 4`` consecutive outlying norms (a loss spike) that
does not include step 0 leaves every smoothed value between the smallest and the largest non-burst norm of its
window; on norms that are constant around the burst it changes nothing at all. A longer burst does reach the
smoothed norms; then larger norms lower the weights ``w``: the plan can only fall or rise within ``[0, 1]`` of the
peak lr, never above it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .refinement import DEFAULT_TAU, check_weighting, median_smooth, refined_multipliers

__all__ = [
    "DEFAULT_FUTURE",
    "FUTURE_MODELS",
    "check_future",
    "joined",
    "online_plan",
    "plot_online",
    "predict_norms",
    "smoothed_seen_norms",
]

FUTURE_MODELS = ("constant", "trend", "stretch")

#: The future model the benchmark supports (docs/refine.md, "Online refinement").
DEFAULT_FUTURE = "constant"

#: Largest |exponent| of the "trend" model's power law.
TREND_SLOPE_LIMIT = 1.0


def check_future(future: str, owner: str = "online refinement") -> str:
    """``future`` if it is one of ``FUTURE_MODELS``, else a ``ValueError`` that ``owner`` allowed only these."""
    if future not in FUTURE_MODELS:
        raise ValueError(f"{owner}: future={future!r} is not allowed: must be one of {', '.join(FUTURE_MODELS)}")
    return future


def smoothed_seen_norms(seen_norms: Any, total_steps: int, tau: float = DEFAULT_TAU) -> tuple[np.ndarray, np.ndarray]:
    """(steps, smoothed norms) of the finite seen norms: NaN/inf dropped (a step the optimizer skipped), a median of
    odd width ``2 floor(tau T / 2) + 1`` (the width offline refinement would use for the whole run), shrunk to the
    number of finite norms."""
    raw = np.asarray(seen_norms, dtype=float)
    if raw.ndim != 1:
        raise ValueError(f"online refinement: seen_norms must be 1-D, got shape {raw.shape}")
    steps = np.flatnonzero(np.isfinite(raw))
    norms = np.maximum(raw[steps], 0.0)
    if len(norms) == 0:
        return steps, norms
    width = 2 * math.floor(tau * total_steps / 2) + 1
    width = min(width, len(norms) if len(norms) % 2 else len(norms) - 1)
    return steps, median_smooth(norms, width)


def predict_norms(steps: np.ndarray, smoothed: np.ndarray, t: int, total_steps: int, future: str) -> np.ndarray:
    """The ``T + 1 - t`` predicted norms of steps ``t..T`` from the smoothed seen norms (at ``steps``, all < t)."""
    last = smoothed[-1]
    k = np.arange(t, total_steps + 1, dtype=float)
    if future == "constant":
        return np.full(len(k), last)
    positive = smoothed > 0
    if future == "trend":
        recent = steps >= t - max(t // 2, 1)
        use = recent & positive
        if use.sum() < 2:
            return np.full(len(k), last)
        x, y = np.log(steps[use] + 1.0), np.log(smoothed[use])
        x = x - x.mean()
        denominator = float(x @ x)
        slope = float(x @ (y - y.mean())) / denominator if denominator > 0 else 0.0
        slope = float(np.clip(slope, -TREND_SLOPE_LIMIT, TREND_SLOPE_LIMIT))
        return last * np.exp(slope * (np.log(k + 1.0) - math.log(t)))
    # stretch: the seen curve compressed into [0, t] (progress p of the run <- progress p of the seen part)
    if positive.sum() < 2 or last <= 0:
        return np.full(len(k), last)
    at = np.interp(k * (t - 1) / total_steps, steps[positive], np.log(smoothed[positive]))
    return last * np.exp(at - at[0])


def online_plan(
    seen_norms: Any,
    total_steps: int,
    weighting: str,
    future: str = DEFAULT_FUTURE,
    tau: float = DEFAULT_TAU,
) -> np.ndarray:
    """The refined multipliers of steps ``t..T`` (``t = len(seen_norms)``) from the norms of steps ``0..t-1``.

    The whole run's plan ``s / max(s)``, ``s_k = w_k * sum_{p=k+1}^{T} w_p`` over steps ``0..T`` (arXiv
    2310.07831, refinement algorithm), with the smoothed seen norms for steps ``< t`` and the ``future`` model's
    prediction for steps ``t..T``; ``w = ||g||_2^-2`` for ``weighting="sgd"``, ``||g||_1^-1`` for ``"adam"``. A seen
    step with a non-finite norm gets its smoothed neighbours' weight (``np.interp``). Returns ``T + 1 - t`` values in
    ``[0, 1]``, the last 0. Constant norms give ``1 - k / T`` for every model. Seen norms that are all non-finite
    or all 0, or predicted norms that are not positive, give linear decay ``1 - k / T`` (nothing to refine on).
    """
    check_weighting(weighting, "online refinement")
    check_future(future)
    total_steps = int(total_steps)
    t = len(np.asarray(seen_norms))
    if not 1 <= t < total_steps:
        raise ValueError(f"online refinement: {t} seen norms must be in [1, total_steps - 1={total_steps - 1}]")
    if not 0.0 <= tau <= 1.0:
        raise ValueError(f"online refinement: tau={tau!r} must be in [0, 1] (the smoothing window, fraction of T)")
    linear = 1.0 - np.arange(t, total_steps + 1) / total_steps
    steps, smoothed = smoothed_seen_norms(seen_norms, total_steps, tau)
    if len(smoothed) == 0 or not (smoothed > 0).any():
        return linear
    predicted = predict_norms(steps, smoothed, t, total_steps, future)
    if not (np.isfinite(predicted).all() and (predicted > 0).all()):
        return linear
    positive = smoothed > 0  # a zero smoothed norm (a run of zero gradients) gets its neighbours' weight
    past = np.interp(np.arange(t), steps[positive], smoothed[positive])
    g = np.concatenate([past, predicted])
    with np.errstate(invalid="ignore"):  # an all-zero s (0/0) falls back below
        plan = refined_multipliers(g, weighting)[t:]  # the offline formula on seen + predicted norms
    return plan if np.isfinite(plan).all() else linear


def joined(current: np.ndarray, plan: np.ndarray, join_steps: int) -> np.ndarray:
    """The multipliers of steps ``t..T`` moving from the ``current`` ones to the new ``plan`` over ``join_steps``
    steps: ``(1 - a_k) current_k + a_k plan_k`` with ``a_k = min(1, (k - t) / join_steps)``. Step ``t`` keeps its
    current value exactly (no jump); a convex combination of two sequences in ``[0, 1]`` that end at 0 stays in
    ``[0, 1]`` and ends at 0."""
    current = np.asarray(current, dtype=float)
    plan = np.asarray(plan, dtype=float)
    if current.shape != plan.shape:
        raise ValueError(f"joined: current {current.shape} and plan {plan.shape} must have the same shape")
    if join_steps < 1:
        raise ValueError(f"joined: join_steps={join_steps!r} must be >= 1")
    a = np.minimum(1.0, np.arange(len(plan)) / join_steps)
    out = (1.0 - a) * current + a * plan
    out[0] = current[0]
    return np.clip(out, 0.0, 1.0)


def plot_online(
    norms: Any,
    multipliers: Any,
    replans: dict[int, Any],
    path: Any,
    *,
    weighting: str = "",
    tau: float = DEFAULT_TAU,
    title: str | None = None,
) -> Any:
    """The ``tuneless refine`` figure of an online-refined run: the recorded and smoothed norms (top); the
    multipliers the run used, every re-plan (thin, from its step to ``T``) and linear decay (bottom)."""
    from ..plotting import pyplot, save

    norms = np.asarray(norms, dtype=float)
    multipliers = np.asarray(multipliers, dtype=float)
    total_steps = len(multipliers) - 1
    steps, smoothed = smoothed_seen_norms(norms, total_steps, tau)

    plt = pyplot()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6.5), sharex=True, height_ratios=(1, 1.2))
    column = {"sgd": "grad_l2", "adam": "grad_l1"}.get(weighting, "gradient norm")
    top.plot(np.arange(len(norms)), norms, lw=0.7, alpha=0.45, color="tab:gray", label=f"{column} (recorded)")
    if len(smoothed):
        width = min(2 * math.floor(tau * total_steps / 2) + 1, len(smoothed))
        top.plot(steps, smoothed, lw=2, color="tab:blue", label=f"median over {width} steps (at the end)")
        if (smoothed > 0).all() and (norms[np.isfinite(norms)] > 0).all():
            top.set_yscale("log")
    top.set_ylabel(f"gradient norm ({column})")
    top.grid(alpha=0.3)
    top.legend(fontsize=8, loc="best")
    default_title = f"Online refinement ({weighting}, tau={tau:g}): {len(replans)} re-plans over {total_steps} steps"
    top.set_title(title or default_title)

    all_steps = np.arange(total_steps + 1)
    bottom.plot(all_steps, 1 - all_steps / total_steps, lw=1.2, ls="--", color="black", label="linear decay")
    colors = plt.cm.viridis(np.linspace(0.1, 0.9, max(len(replans), 1)))
    for color, (t, plan) in zip(colors, sorted(replans.items()), strict=False):
        bottom.plot(np.arange(t, total_steps + 1), np.asarray(plan), lw=0.9, color=color, alpha=0.8)
        bottom.plot([t], [multipliers[t]], "o", ms=3, color=color)
    if replans:
        bottom.plot([], [], lw=0.9, color=colors[0], label="re-plans (from the step they were made; dot: the join)")
    bottom.plot(all_steps, multipliers, lw=2.2, color="tab:red", label="schedule the run used")
    bottom.set_xlabel("step")
    bottom.set_ylabel("learning-rate multiplier (x peak lr)")
    bottom.set_ylim(0, 1.05)
    bottom.set_xlim(0, total_steps)
    bottom.grid(alpha=0.3)
    bottom.legend(fontsize=8, loc="best")
    return save(fig, path)
