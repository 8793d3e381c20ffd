"""Schedule refinement: a learning-rate schedule for THIS task from the gradient norms of a previous run.

Source: Defazio, Cutkosky, Mehta, Mishchenko, "When, Why and How Much? Adaptive Learning Rate Scheduling by
Refinement" (arXiv 2310.07831; v2 "Optimal Linear Decay Learning Rate Schedules and Further Refinements"),
Algorithm "schedule refinement", and the authors' code for the details noted below.

Why it works: online gradient descent with weights ``w_t``, ``z_{t+1} = z_t - eta * w_t * g_t``, is the same as SGD
on the LAST iterate with steps ``eta_t = eta * w_t * sum_{p>t} w_p / sum_p w_p``. With ``||g_t|| <= G`` and
``w_t = 1`` this is linear decay to zero, worst-case optimal. Weighting by the observed norms,
``w_t = ||g_t||_2^-2`` (SGD) or ``w_t = ||g_t||_1^-1`` (Adam-type, coordinate-wise; the authors use the L1 norm of
the GRADIENT, not of the update), gives a schedule refined for the task: large early norms create a warmup,
norms that rise at the end steepen the annealing.

Step convention: the ``T`` norms are steps ``0..T-1`` of the previous run; the refined multiplier of the last step is
0. The result is a :class:`~tuneless.schedules.Tabulated` whose table lies over progress ``linspace(0, 1, T)``, so it
runs at any horizon (``schedule(t, T_new)`` interpolates in ``t / T_new``). Constant norms give exactly ``1 - p``:
linear decay, at every horizon.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from ..schedules import Tabulated
from ._warning import RefinementWarning
from .logs import read_trace
from .trace import Trace, format_ranges

__all__ = [
    "refine",
    "median_smooth",
    "smoothing_window",
    "refined_multipliers",
    "check_weighting",
    "weighting_of",
    "WEIGHTINGS",
    "DEFAULT_TAU",
]

#: weighting -> (the trace column it reads, the exponent k of the weights w_t = ||g_t||^-k).
WEIGHTINGS = {"sgd": ("grad_l2", 2), "adam": ("grad_l1", 1)}


def check_weighting(weighting: str, owner: str = "refine") -> tuple[str, int]:
    """``WEIGHTINGS[weighting]``, or a ``ValueError`` that ``owner`` (who was given it) allowed only these."""
    if weighting not in WEIGHTINGS:
        raise ValueError(f"{owner}: weighting={weighting!r} is not allowed: must be one of {', '.join(WEIGHTINGS)}")
    return WEIGHTINGS[weighting]


#: Default smoothing window as a fraction of the run: 0.1, the authors' tau. Their code sizes the window on a
#: 10,000-point resampling, so their effective window is 10% of short runs and 2-4% of the long runs the paper
#: reports; pass tau=0.02-0.04 to match them on runs of 25,000-50,000 steps. A median filter leaves a monotone
#: stretch of norms unchanged (and, with "nearest" padding, an early fall too), so tau only decides which bumps
#: count as noise. On the byte-level LM of docs/refine.md (600 steps, one seed) tau = 0.1 beat 0.02 and 0.05 at
#: every peak lr tried (docs/refine.md, "Choosing tau").
DEFAULT_TAU = 0.1


def smoothing_window(n_steps: int, tau: float) -> int:
    """The odd median-filter width about ``tau * n_steps``: ``2 * floor(tau * n_steps / 2) + 1``, the odd number in
    ``(tau T - 1, tau T + 1]``.

    A width larger than ``n_steps`` shrinks to the largest odd number ``<= n_steps``, with a
    :class:`RefinementWarning`.
    """
    width = 2 * math.floor(tau * n_steps / 2) + 1
    if width > n_steps:
        shrunk = n_steps if n_steps % 2 else n_steps - 1
        warnings.warn(
            f"refine: smoothing window {width} (tau={tau:g}) is longer than the {n_steps} steps; shrunk to {shrunk}",
            RefinementWarning,
            stacklevel=3,
        )
        width = shrunk
    return width


def median_smooth(norms: Any, window: int) -> np.ndarray:
    """Running median of odd width ``window``, padded "nearest" at the start and "reflect" at the end.

    As in the authors' code: the end is padded by reflection (``... c d | d c b ...``, scipy.ndimage's "reflect",
    the edge value repeated), the padded sequence is filtered with "nearest" padding at the start, and the padding
    is cut. A monotone sequence is left unchanged except over the last ``window // 2`` steps, where the reflection
    flattens a rise or fall.
    """
    norms = np.asarray(norms, dtype=float)
    if window < 1 or window % 2 == 0 or window > len(norms):
        raise ValueError(f"median_smooth: window={window} must be odd and in [1, {len(norms)}] (the sequence length)")
    half = window // 2
    padded = np.pad(norms, (0, half), mode="symmetric")  # numpy "symmetric" = scipy "reflect": edge repeated
    return ndimage.median_filter(padded, size=window, mode="nearest")[: len(norms)]


def refined_multipliers(smoothed_norms: Any, weighting: str) -> np.ndarray:
    """``s_t = w_t * sum_{p>t} w_p`` (so ``s_{T-1} = 0``) normalised to peak 1, ``w_t = ||g_t||^-k``.

    ``k = 2`` for ``weighting="sgd"`` (L2 norms), ``k = 1`` for ``weighting="adam"`` (L1 norms); arXiv 2310.07831,
    refinement algorithm. The weights are computed as ``(min_p g_p / g_t)^k`` (the same up to a constant, which the
    normalisation removes; never overflows), so constant norms give the integers ``T-1-t`` exactly and the result
    ``1 - t / (T - 1)`` to the last bit. Norms so far apart (over 75 decades for SGD, 150 for Adam) that a
    product ``w_t w_p`` could fall below the normal floats (1e-300) are done in logarithms instead.
    """
    _, power = check_weighting(weighting)
    g = np.asarray(smoothed_norms, dtype=float)
    weights = (g.min() / g) ** power
    if weights.min() < 1e-150:  # w_t * w_p would lose digits in subnormal floats, or underflow to 0
        log_w = power * (np.log(g.min()) - np.log(g))
        log_later = np.append(np.logaddexp.accumulate(log_w[::-1])[::-1][1:], -np.inf)  # log sum_{p>t} w_p
        log_s = log_w + log_later
        return np.exp(log_s - log_s.max())
    later = np.append(np.cumsum(weights[::-1])[::-1][1:], 0.0)  # sum_{p>t} w_p
    s = weights * later
    return s / s.max()


def _norms_to_refine(
    trace_or_norms: Any, weighting: str, allow_gaps: bool
) -> tuple[np.ndarray, str | None, str, dict[str, Any]]:
    """(the norms of every step, the trace column they come from or None for a plain array, a description of the
    source, what the meta records about the log)."""
    wanted, _ = check_weighting(weighting)
    if isinstance(trace_or_norms, (str, Path)):
        trace_or_norms = read_trace(trace_or_norms)
    if not isinstance(trace_or_norms, Trace):
        norms = np.asarray(trace_or_norms, dtype=float)
        if norms.ndim != 1:
            raise ValueError(f"refine: norms must be a 1-D sequence, got shape {norms.shape}")
        return norms, None, "array", {}
    trace = trace_or_norms
    source = trace.source or "trace"
    if wanted not in trace.norm_columns:
        have = trace.norm_columns[0]
        name = f" ({trace.norm_name})" if trace.norm_name and trace.norm_name != have else ""
        raise ValueError(
            f"refine: weighting={weighting!r} needs {wanted} norms but {source} has only {have}{name}, an "
            f"{trace.norm_kind.upper()} norm, which implies weighting={weighting_of(have)!r}: pass that weighting, "
            "or record the other norm (tuneless.torch.GradNormRecorder records both)"
        )
    logged = int(np.isfinite(trace.norms(wanted)).sum())
    if logged < 2:
        raise ValueError(f"refine: {source} has {logged} finite logged norm(s); refinement needs at least 2")
    gaps = trace.gaps
    if gaps and not allow_gaps:
        raise ValueError(
            f"refine: {source} has {len(gaps)} gap(s) in its steps ({format_ranges(gaps)} missing; logged every "
            f"{trace.stride} step(s) from step {int(trace.step[0])}; a crash, a resume that skipped steps, a log "
            "that starts late or counts steps from 1?); refining it would shift or compress the time axis: pass "
            "allow_gaps=True to interpolate the missing steps (tuneless refine --allow-gaps), or record the run again"
        )
    log = {
        "log_format": trace.log_format,
        "norm_name": trace.norm_name or wanted,
        "norm_kind": trace.norm_kind,
        "logged_steps": len(trace),
        "stride": trace.stride,
        "gaps_filled": sum(last - first + 1 for first, last in gaps),
    }
    return trace.with_gaps_filled().norms(wanted), wanted, source, log


def weighting_of(column: str) -> str:
    """The weighting a norm column implies: "sgd" for ``grad_l2``, "adam" for ``grad_l1``."""
    return next(name for name, (col, _) in WEIGHTINGS.items() if col == column)


def _finite_norms(raw: np.ndarray, source: str) -> tuple[np.ndarray, int]:
    """The finite norms of ``raw`` (a warning counts the others) and how many were dropped; ``ValueError`` for fewer
    than 2 or a negative one."""
    finite = np.isfinite(raw)
    dropped = int((~finite).sum())
    if dropped:
        warnings.warn(
            f"refine: dropped {dropped} non-finite norm(s) of {len(raw)} from {source} (NaN or inf)",
            RefinementWarning,
            stacklevel=3,
        )
    norms = raw[finite]
    if len(norms) < 2:
        raise ValueError(f"refine: {source} has {len(norms)} finite norm(s); refinement needs at least 2 steps")
    if (norms < 0).any():
        first = int(np.flatnonzero(norms < 0)[0])
        raise ValueError(
            f"refine: {source} has {int((norms < 0).sum())} negative norm(s) (first: {float(norms[first])!r} at finite "
            f"entry {first}); gradient norms are >= 0"
        )
    return norms, dropped


def refine(trace_or_norms: Any, weighting: str, tau: float = DEFAULT_TAU, *, allow_gaps: bool = False) -> Tabulated:
    """A schedule refined from a previous run's per-step gradient norms (arXiv 2310.07831, refinement algorithm).

    ``trace_or_norms``: a trace file path, a :class:`~tuneless.refine.Trace`, or a 1-D array of norms (steps
    ``0..T-1``). ``weighting="sgd"`` reads ``grad_l2`` and weights ``w_t = ||g_t||_2^-2``; ``weighting="adam"`` reads
    ``grad_l1`` and weights ``w_t = ||g_t||_1^-1`` (use "adam" for any coordinate-wise optimizer: Adam, AdamW,
    NAdamW). A trace that has only the other norm is a ValueError (the norm implies the other weighting). A sparse
    log (every ``d``-th step, :attr:`Trace.stride`) is interpolated linearly to every step ``0..end`` before the
    median filter, so the window of about ``tau * T`` steps takes the median of the logged norms it covers and the
    lines between them, and the schedule covers every step. A trace with missing steps (:attr:`Trace.gaps`: a late
    start, a hole wider than the stride) is refused (``ValueError`` naming the ranges) unless ``allow_gaps=True``,
    which fills them the same way (:meth:`Trace.with_gaps_filled`, a warning naming the ranges).

    Steps: drop non-finite norms (warning with their count); median filter of odd width about ``tau * T``
    (:func:`median_smooth`; the window shrinks, with a warning, if longer than the trace); weights; ``s_t = w_t *
    sum_{p>t} w_p``, ``s_{T-1} = 0``; ``s / max(s)``. No warmup is added by hand; tune the peak learning rate as
    usual. ``tau`` in ``[0, 1]`` (0: no smoothing), default :data:`DEFAULT_TAU`.

    Returns ``Tabulated(s / max(s), meta)`` over progress ``linspace(0, 1, T)``; ``meta`` records weighting, tau,
    window, norm column, source, steps, dropped count and where the schedule peaks; for a trace also the log format,
    the norm's name and kind, the logged steps, the stride and the number of gap steps filled.
    """
    check_weighting(weighting)
    tau = float(tau)
    if not 0.0 <= tau <= 1.0:
        raise ValueError(f"refine: tau={tau!r} must be in [0, 1] (the smoothing window as a fraction of the run)")
    raw, column, source, log = _norms_to_refine(trace_or_norms, weighting, allow_gaps)
    norms, dropped = _finite_norms(raw, source)
    window = smoothing_window(len(norms), tau)
    smoothed = median_smooth(norms, window)
    if not (smoothed > 0).all():
        raise ValueError(
            f"refine: the smoothed norms from {source} are 0 at {int((smoothed <= 0).sum())} of {len(norms)} steps; "
            "refinement weights by 1/norm and needs positive norms (all-zero norms mean no gradient was recorded)"
        )
    values = refined_multipliers(smoothed, weighting)
    meta = {
        "weighting": weighting,
        "tau": tau,
        "window": window,
        "norm_column": column,
        "source": source,
        "steps": len(norms),
        "dropped_non_finite": dropped,
        "peak_progress": float(np.argmax(values) / (len(values) - 1)),
        **log,
    }
    return Tabulated(values, meta=meta)
