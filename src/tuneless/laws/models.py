"""Loss-curve laws: predict a run's loss from its learning-rate schedule.

Both laws take the per-step learning rates ``eta_0..eta_{N-1}`` of a run; the loss logged at step ``t`` follows
the updates of steps ``0..t``, so the area under the whole schedule up to step ``t`` is
``S1(t) + S_W = sum_{tau<=t} eta_tau`` (forward area including the warmup area ``S_W``).

* :class:`MultiPowerLaw` (Luo et al. 2025, "A Multi-Power Law for Loss Curve Prediction Across Learning Rate
  Schedules", arXiv 2503.12811, eq. 5)::

      L(t) = L0 + A (S1(t) + S_W)^-alpha - LD(t)
      LD(t) = B sum_{1<=k<=t} (eta_{k-1} - eta_k) G(eta_k^-gamma S_k(t)),   S_k(t) = sum_{tau=k..t} eta_tau
      G(x) = 1 - (C x + 1)^-beta

  The sum runs over every step, warmup included, as the authors' evaluation does (their published parameters
  reproduce their published test errors only so): a warmup's rises are negative drops that add ``~B * peak``.

* :class:`AnnealingLaw` (Tissue et al. 2024, "Scaling Law with Learning Rate Annealing", arXiv 2408.11029,
  eq. 1)::

      L(t) = L0 + A S1(t)^-alpha - C S2(t),   S2(t) = sum_{i<=t} m_i,
      m_i = lambda m_{i-1} + (eta_{i-1} - eta_i),   lambda = 0.999 (fixed)

  Drops count only after the peak ``p = argmax eta`` (Tissue et al. leave the warmup out of ``S2``).

Fitting (both papers, section "fitting"): minimise ``sum Huber_delta(log L_true - log L_pred)`` with
``delta = 1e-3`` over all logged points of all given curves, by scipy L-BFGS-B from several starts. Parameters
are optimised as logarithms (all are positive), so the bound ``>= 0`` holds by construction. The multi-power law
is fitted in two stages: ``B`` from its saturated limit (:class:`SaturatedDropLaw`), then the other six.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from numbers import Real
from pathlib import Path
from typing import ClassVar

import numpy as np
from scipy.optimize import minimize
from scipy.signal import lfilter

from ..registry import Registry
from .curves import Curve

HUBER_DELTA = 1e-3
_REJECTED = 1e3  # objective of a trial point whose prediction is not finite and positive
# Columns of the (evaluation step x drop) matrix computed at once; bounds memory to ~ 8 * rows * CHUNK bytes.
_CHUNK_ELEMENTS = 4_000_000


def huber(r: np.ndarray, delta: float = HUBER_DELTA) -> tuple[np.ndarray, np.ndarray]:
    """Huber loss ``0.5 r^2`` for ``|r| < delta`` else ``delta (|r| - delta/2)``, and its derivative in ``r``."""
    a = np.abs(r)
    small = a < delta
    value = np.where(small, 0.5 * r * r, delta * (a - 0.5 * delta))
    grad = np.where(small, r, delta * np.sign(r))
    return value, grad


def metrics(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """R2, MAE, RMSE, PredE = mean |pred-true|/true and WorstE = max |pred-true|/true (Luo et al. 2025, sec. 4).
    R2 is NaN on a flat curve (no variance to explain)."""
    pred, true = np.asarray(pred, float), np.asarray(true, float)
    err = pred - true
    rel = np.abs(err) / true
    spread = np.sum((true - true.mean()) ** 2)
    return {
        "R2": float(1.0 - np.sum(err**2) / spread) if spread > 0 else float("nan"),  # undefined on a flat curve
        "MAE": float(np.mean(np.abs(err))),
        "RMSE": float(np.sqrt(np.mean(err**2))),
        "PredE": float(np.mean(rel)),
        "WorstE": float(np.max(rel)),
    }


def _check_lrs(lrs: np.ndarray, steps: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    lrs = np.asarray(lrs, dtype=float)
    if lrs.ndim != 1 or lrs.size == 0 or not np.all(np.isfinite(lrs)) or np.any(lrs < 0):
        raise ValueError("lrs must be a non-empty 1-D array of finite learning rates >= 0")
    steps = np.arange(lrs.size) if steps is None else np.asarray(steps, dtype=np.int64)
    if steps.size and (steps.min() < 0 or steps.max() >= lrs.size):
        raise ValueError(f"steps must lie in [0, {lrs.size - 1}] (the schedule has {lrs.size} steps)")
    area = np.cumsum(lrs)[steps] if steps.size else np.zeros(0)
    if np.any(area <= 0):
        raise ValueError(f"the learning-rate area up to step {steps[np.argmax(area <= 0)]} is 0; the laws need > 0")
    return lrs, steps


@dataclass
class Law:
    """A loss-curve law with named parameters. Subclasses define ``_features`` and ``_value_and_grad``."""

    params: dict[str, float] | None = None
    fit_info: dict | None = None  # set by fit: objective, converged, message, seconds, curves

    name: ClassVar[str]
    param_names: ClassVar[tuple[str, ...]]
    start_grid: ClassVar[dict[str, tuple[float, ...]]]

    def __post_init__(self) -> None:
        if self.params is not None:  # the fit keeps every parameter finite and > 0 (it fits their logarithms)
            unknown = sorted(set(self.params) - set(self.param_names))
            if unknown:
                raise ValueError(f"{self.name} law: params {unknown} are unknown; it has {list(self.param_names)}")
            bad = {k: v for k, v in self.params.items() if not (isinstance(v, Real) and 0 <= v < float("inf"))}
            if bad:
                raise ValueError(f"{self.name} law: params {bad} must be finite numbers >= 0")

    # ---- public API ---------------------------------------------------------------------------------------------
    def predict(self, lrs: np.ndarray, steps: np.ndarray | None = None) -> np.ndarray:
        """Predicted loss at ``steps`` (default: every step) of a run with per-step learning rates ``lrs``."""
        theta = self._theta()
        lrs, steps = _check_lrs(lrs, steps)
        return self._value_and_grad(theta, self._features(lrs, steps), grad=False)[0]

    def evaluate(self, curve: Curve) -> dict[str, float]:
        """:func:`metrics` of the prediction at the curve's logged steps."""
        return metrics(self.predict(curve.lrs, curve.steps), curve.losses)

    def fit(
        self,
        curves: Curve | list[Curve],
        n_starts: int = 3,
        max_iter: int = 500,
        bin_steps: int = 16,
        fixed: dict[str, float] | None = None,
    ) -> Law:
        """Fit on one or more curves together (Huber on log loss, L-BFGS-B from the ``n_starts`` best grid points).

        ``fixed``: parameters held at the given values (e.g. ``{"beta": 0.6}``); the others are fitted.

        ``bin_steps``: while fitting, the multi-power law merges the drops of each ``bin_steps`` consecutive steps
        into one (summed drop at its drop-weighted position and log lr). This divides the cost of a cosine curve
        by ``bin_steps``; the change in predicted loss is of the order of the drop of one bin times ``B``
        (about 1e-4 relative for the public curves). Predictions after the fit are exact (``bin_steps = 1``).

        Raises ``ValueError`` when no start converges. Sets ``self.params`` and ``self.fit_info``; returns self.
        """
        curves = [curves] if isinstance(curves, Curve) else list(curves)
        if not curves:
            raise ValueError("fit needs at least one curve")
        t0 = time.perf_counter()
        fixed = dict(fixed or {})
        measured, first_stage = self._first_stage(curves, fixed, n_starts, max_iter)
        fixed = measured | fixed
        self._check_fixed(fixed)
        names = [n for n in self.param_names if n not in fixed]
        objective = self._objective(curves, fixed, bin_steps)
        best = self._best_of_starts(objective, names, curves, n_starts, max_iter)
        fitted = dict(zip(names, np.exp(best.x), strict=True))
        self.params = {n: float(fixed[n] if n in fixed else fitted[n]) for n in self.param_names}
        self.fit_info = {
            "objective": float(best.fun),
            "converged": bool(best.success),
            "message": str(best.message),
            "seconds": time.perf_counter() - t0,
            "curves": [c.name for c in curves],
        } | first_stage
        return self

    def _check_fixed(self, fixed: dict[str, float]) -> None:
        unknown = sorted(set(fixed) - set(self.param_names))
        if unknown:
            raise ValueError(f"fixed names unknown parameters {unknown}; {self.name} has {list(self.param_names)}")
        if any(not (np.isfinite(v) and v > 0) for v in fixed.values()):
            raise ValueError(f"fixed parameters must be finite and > 0, got {fixed}")
        if all(n in fixed for n in self.param_names):
            raise ValueError("fixed holds every parameter: nothing to fit")

    def _objective(self, curves: list[Curve], fixed: dict[str, float], bin_steps: int):
        """The fit's objective of the log free parameters ``phi``: the mean Huber loss of the log losses over every
        logged point of ``curves``, and its gradient (``_REJECTED`` where a prediction is not positive/finite)."""
        free = np.array([n not in fixed for n in self.param_names])
        theta_fixed = np.array([fixed.get(n, np.nan) for n in self.param_names])
        feats = [self._features(c.lrs, c.steps, bin_steps) for c in curves]
        log_true = [np.log(c.losses) for c in curves]
        n_points = sum(c.steps.size for c in curves)

        def objective(phi: np.ndarray) -> tuple[float, np.ndarray]:
            theta = theta_fixed.copy()
            theta[free] = np.exp(phi)
            total, grad = 0.0, np.zeros(theta.size)
            with np.errstate(all="ignore"):  # overflowing trial points are rejected below
                for f, lt in zip(feats, log_true, strict=True):
                    pred, jac = self._value_and_grad(theta, f, grad=True)
                    if not (np.all(pred > 0) and np.all(np.isfinite(jac))):
                        return _REJECTED, np.zeros_like(phi)
                    value, dvalue = huber(lt - np.log(pred))
                    total += value.sum()
                    grad += -(dvalue / pred) @ jac
            return total / n_points, (grad * theta)[free] / n_points

        return objective

    def _best_of_starts(self, objective, names: list[str], curves: list[Curve], n_starts: int, max_iter: int):
        """L-BFGS-B from the ``n_starts`` best points of the start grid of the free parameters ``names``; the best
        finite result, or a ``ValueError`` when no start gave one."""
        grid = np.array(np.meshgrid(*[self.start_grid[n] for n in names], indexing="ij")).reshape(len(names), -1).T
        if "L0" in names:  # loss level: L0 starts below the lowest observed loss
            grid[:, names.index("L0")] *= min(c.losses.min() for c in curves)
        start_values = np.array([objective(np.log(g))[0] for g in grid])
        order = np.argsort(start_values)[:n_starts]
        best = None
        for i in order:
            res = minimize(
                objective,
                np.log(grid[i]),
                jac=True,
                method="L-BFGS-B",
                bounds=[(-30.0, 30.0)] * len(names),
                options={"maxiter": max_iter, "ftol": 1e-15, "gtol": 1e-12},
            )
            if np.isfinite(res.fun) and (best is None or res.fun < best.fun):
                best = res
        if best is None or best.fun >= _REJECTED:
            raise ValueError(
                f"{self.name} law did not converge on {[c.name for c in curves]}: no start gave a finite fit"
            )
        return best

    def _first_stage(
        self, curves: list[Curve], fixed: dict[str, float], n_starts: int, max_iter: int
    ) -> tuple[dict[str, float], dict]:
        """Parameters measured before the main fit (held in it), and what ``fit_info`` reports of it: none here."""
        return {}, {}

    def to_dict(self) -> dict:
        return {"law": self.name, "params": dict(self.params or {})}

    def save(self, path: str | Path) -> Path:
        """Fitted parameters as JSON ``{"law": name, "params": {...}}``."""
        self._theta()
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return path

    @staticmethod
    def from_dict(d: dict) -> Law:
        return LAWS.get_known(d.get("law"))(params={k: float(v) for k, v in d["params"].items()})

    @staticmethod
    def load(path: str | Path) -> Law:
        path = Path(path)
        try:
            d = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: not JSON ({err})") from None
        return Law.from_dict(d)

    # ---- internals ----------------------------------------------------------------------------------------------
    def _theta(self) -> np.ndarray:
        if self.params is None:
            raise ValueError(f"{self.name} law has no parameters: fit it or give params={list(self.param_names)}")
        missing = [n for n in self.param_names if n not in self.params]
        if missing:
            raise ValueError(f"{self.name} law params lack {missing}; needs {list(self.param_names)}")
        return np.array([self.params[n] for n in self.param_names], dtype=float)

    def _features(self, lrs: np.ndarray, steps: np.ndarray, bin_steps: int = 1) -> dict:
        raise NotImplementedError

    def _value_and_grad(self, theta: np.ndarray, f: dict, grad: bool) -> tuple[np.ndarray, np.ndarray | None]:
        raise NotImplementedError


@dataclass
class MultiPowerLaw(Law):
    """Multi-power law ``L0 + A (S1+S_W)^-alpha - LD(t)`` (Luo et al. 2025, arXiv 2503.12811, eq. 5).

    Vectorised as a matrix over (evaluation step ``t``, drop step ``k``): ``S_k(t) = F(t) - F(k-1)`` with the
    cumulative area ``F(t) = sum_{tau<=t} eta_tau``, clipped at 0 for ``k > t`` (then ``G(0) = 0``, so the
    entry adds nothing). Only steps where the learning rate changes are columns. A zero learning rate after a
    drop is floored at ``1e-9 *`` peak in ``eta_k^-gamma``, so decays to 0 are defined.

    ``fit`` works in two stages (``pin_b=True``, the default): ``B`` from the saturated limit of the law, then the
    other six with ``B`` held. On curves of one horizon the drop amplitude ``B`` and the saturation shape (``C``,
    ``beta``) trade off: a small ``beta`` with a large ``B`` (a drop benefit that keeps growing like a logarithm)
    fits as well as a saturating one and extrapolates worse. The limit ``C -> inf`` (:class:`SaturatedDropLaw`,
    every drop's benefit ``B * drop`` felt at once; the authors' initialiser) measures ``B`` from how deep the
    loss goes when the learning rate is low, on the logged points from the peak on. ``pin_b=False`` fits all
    seven at once. Stage 1 is skipped when ``B`` is in ``fixed`` or no logged point after a peak has a lower
    learning rate (nothing measures ``B``). ``fit_info["pinned_B"]`` says what was used.
    """

    pin_b: bool = True

    name: ClassVar[str] = "multipower"
    param_names: ClassVar[tuple[str, ...]] = ("L0", "A", "alpha", "B", "C", "beta", "gamma")
    start_grid: ClassVar[dict[str, tuple[float, ...]]] = {
        "L0": (0.8, 0.9),  # times the lowest observed loss
        "A": (0.3, 1.0),
        "alpha": (0.3, 0.6),
        "B": (100.0, 500.0),
        "C": (1.0, 3.0),
        "beta": (0.5,),
        "gamma": (0.5,),
    }

    def _first_stage(self, curves, fixed, n_starts, max_iter):
        """``B`` from the saturated limit of the law (two-stage fit; see the class docstring)."""
        if not self.pin_b or "B" in fixed:
            return {}, {"pinned_B": None}
        after_peak = []
        for c in curves:
            keep = c.steps >= int(np.argmax(c.lrs))
            if keep.sum() >= 2:
                after_peak.append(Curve(c.lrs, c.steps[keep], c.losses[keep], name=c.name))
        if not any(np.any(c.lrs[c.steps] < c.lrs.max()) for c in after_peak):
            return {}, {"pinned_B": None}  # no logged point after a drop: nothing measures B
        try:
            stage1 = SaturatedDropLaw().fit(after_peak, n_starts=n_starts, max_iter=max_iter)
        except ValueError as err:
            raise ValueError(f"multipower law, stage 1 (B from the saturated limit): {err}") from None
        return {"B": stage1.params["B"]}, {"pinned_B": stage1.params["B"]}

    def _features(self, lrs: np.ndarray, steps: np.ndarray, bin_steps: int = 1) -> dict:
        area = np.cumsum(lrs)
        k = np.arange(1, lrs.size)
        drop = lrs[k - 1] - lrs[k]
        keep = drop != 0
        k, drop = k[keep], drop[keep]
        log_eta = np.log(np.maximum(lrs[k], 1e-9 * lrs.max()))
        before = area[k - 1]  # F(k-1)
        if bin_steps > 1 and k.size:  # one column per bin: summed drop, |drop|-weighted F(k-1) and log eta_k
            group = (k - 1) // bin_steps
            starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
            weight = np.abs(drop)
            total = np.add.reduceat(weight, starts)
            before = np.add.reduceat(weight * before, starts) / total
            log_eta = np.add.reduceat(weight * log_eta, starts) / total
            drop = np.add.reduceat(drop, starts)
        s_k = np.clip(area[steps][:, None] - before[None, :], 0.0, None)  # S_k(t), 0 where k > t
        return {"area": area[steps], "drop": drop, "log_eta": log_eta, "s_k": s_k}

    def _value_and_grad(self, theta, f, grad):
        L0, A, alpha, B, C, beta, gamma = theta
        area = f["area"]
        power = area**-alpha
        value = L0 + A * power
        drop, log_eta, s_k = f["drop"], f["log_eta"], f["s_k"]
        n = area.size
        jac = np.zeros((n, 7)) if grad else None
        if drop.size:
            scale = np.exp(-gamma * log_eta)  # eta_k^-gamma
            sum_g = np.zeros(n)
            if grad:
                sum_beta, sum_c, sum_gamma = np.zeros(n), np.zeros(n), np.zeros(n)
            step = max(1, _CHUNK_ELEMENTS // max(n, 1))
            for lo in range(0, drop.size, step):
                sl = slice(lo, lo + step)
                x = s_k[:, sl] * scale[sl]
                log_u = np.log1p(C * x)
                u_pow = np.exp(-beta * log_u)  # (C x + 1)^-beta
                d = drop[sl]
                sum_g += (1.0 - u_pow) @ d
                if grad:
                    sum_beta += (u_pow * log_u) @ d  # dG/dbeta
                    q = beta * u_pow / (1.0 + C * x) * x  # beta u^(-beta-1) x = dG/dC
                    sum_c += q @ d
                    sum_gamma += q @ (d * -log_eta[sl]) * C  # dG/dgamma = beta u^(-beta-1) C x (-log eta_k)
            value = value - B * sum_g
            if grad:
                jac[:, 3] = -sum_g
                jac[:, 4] = -B * sum_c
                jac[:, 5] = -B * sum_beta
                jac[:, 6] = -B * sum_gamma
        if grad:
            jac[:, 0] = 1.0
            jac[:, 1] = power
            jac[:, 2] = -A * power * np.log(area)
        return value, jac


class _LinearReductionLaw(Law):
    """Laws ``L0 + A S(t)^-alpha - K R(t)``: parameters ``(L0, A, alpha, K)``, ``_features`` gives ``R``."""

    def _value_and_grad(self, theta, f, grad):
        L0, A, alpha, K = theta
        area, reduction = f["area"], f["reduction"]
        power = area**-alpha
        value = L0 + A * power - K * reduction
        if not grad:
            return value, None
        return value, np.column_stack([np.ones_like(area), power, -A * power * np.log(area), -reduction])


@dataclass
class AnnealingLaw(_LinearReductionLaw):
    """Annealing law ``L0 + A S1^-alpha - C S2`` (Tissue et al. 2024, arXiv 2408.11029, eq. 1), lambda = 0.999.

    ``S1`` is the area of the whole schedule up to step ``t`` (warmup included); ``S2`` sums the momentum
    ``m_i = lambda m_{i-1} + (eta_{i-1} - eta_i)`` of the drops after the peak, computed by a linear filter.
    """

    decay: float = 0.999

    name: ClassVar[str] = "annealing"
    param_names: ClassVar[tuple[str, ...]] = ("L0", "A", "alpha", "C")
    start_grid: ClassVar[dict[str, tuple[float, ...]]] = {
        "L0": (0.7, 0.8, 0.9),
        "A": (0.3, 1.0, 3.0),
        "alpha": (0.2, 0.5, 0.8),
        "C": (0.1, 1.0),
    }

    def _features(self, lrs: np.ndarray, steps: np.ndarray, bin_steps: int = 1) -> dict:
        area = np.cumsum(lrs)
        peak = int(np.argmax(lrs))
        drops = np.zeros_like(lrs)
        drops[peak + 1 :] = lrs[peak:-1] - lrs[peak + 1 :]
        momentum = lfilter([1.0], [1.0, -self.decay], drops)  # m_i = lambda m_{i-1} + drop_i
        return {"area": area[steps], "reduction": np.cumsum(momentum)[steps]}


@dataclass
class SaturatedDropLaw(_LinearReductionLaw):
    """The multi-power law's limit ``C -> inf``: ``L0 + A S(t)^-alpha - B (eta_peak - eta_t)``.

    Every drop's benefit ``B * drop`` is felt at once (``G = 1``). Luo et al. fit this four-parameter form first
    to start their fit; :meth:`MultiPowerLaw.fit` takes ``B`` from it. Its ``L0`` is the multi-power law's
    ``L0 + B * eta_peak`` (the warmup's rises count there), so only ``B`` carries over.
    """

    name: ClassVar[str] = "saturated"
    param_names: ClassVar[tuple[str, ...]] = ("L0", "A", "alpha", "B")
    start_grid: ClassVar[dict[str, tuple[float, ...]]] = {
        "L0": (0.8, 0.9, 0.95),
        "A": (0.3, 1.0),
        "alpha": (0.3, 0.6),
        "B": (100.0, 500.0),
    }

    def _features(self, lrs: np.ndarray, steps: np.ndarray, bin_steps: int = 1) -> dict:
        return {"area": np.cumsum(lrs)[steps], "reduction": lrs.max() - lrs[steps]}


#: name -> law class (``bound`` is added by ``laws.bound``).
LAWS: Registry[type[Law]] = Registry("law")
LAWS.add(MultiPowerLaw.name, MultiPowerLaw)
LAWS.add(AnnealingLaw.name, AnnealingLaw)
LAWS.add(SaturatedDropLaw.name, SaturatedDropLaw)


def make_law(name: str, params: dict[str, float] | None = None) -> Law:
    """A law by name (``LAWS``: multipower, annealing, saturated, bound)."""
    return LAWS.get_known(name)(params=params)
