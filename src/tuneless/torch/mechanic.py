"""``Mechanic``: learns the global scale of any torch optimizer's updates (Cutkosky, Defazio, Mehta 2023).

Cutkosky, Defazio, Mehta, "Mechanic: A Learning Rate Tuner", arXiv 2306.00144 (NeurIPS 2023), Algorithm 1.
With base updates u_t (what the base optimizer would add to the weights at step t) and gradients g_t, 1-based t:

    Delta_1 = 0,  x_ref = x_1,  and per beta_i in (0.9, 0.99, ..., 0.999999):  m_0 = v_0 = r_0 = 0
    h_t      = < Delta_t , g_t + lambda * S_t * ||g_t|| * x_t / ||x_t|| >          S_t = sum_i s_{t,i}
    m_{t,i}  = max(beta_i * m_{t-1,i}, |h_t| + eps)
    v_{t,i}  = beta_i^2 * v_{t-1,i} + h_t^2
    r_{t,i}  = max(0, beta_i * r_{t-1,i} - s_{t,i} * h_t)      (h_t clipped to [-m_{t-1,i}, m_{t-1,i}] with clip_h)
    s_{t+1,i} = (s_init / n * m_{t,i} + r_{t,i}) / (sqrt(v_{t,i}) + eps)
    Delta_{t+1} = Delta_t + u_t
    x_{t+1}  = x_ref + S_{t+1} * Delta_{t+1}

Norms and inner products run jointly over every parameter that has a gradient at step t. Defaults are the paper's:
lambda = 0.01, s_init = 1e-8, eps = 1e-8, six betas. Two details follow the authors' optax implementation
(optax.contrib.mechanize) where the paper's recursion is silent or degenerate: ``+ eps`` inside the max for m
(with m_0 = 0 and h_1 = 0, since Delta_1 = 0, the paper's recursion would give s_2 = 0 and waste a step; with it
s_2 = s_init/n for every beta, so the scale starts at S_2 = s_init), and ``||x_t|| + eps`` in the denominator
(all-zero weights). ``clip_h=True`` adds optax's later clipping of h in the r update (not in the paper). The initial
s_1 only enters through Delta_1 = 0, so it is immaterial; we set s_1 = s_init / n.

Memory: ``store_delta=True`` keeps Delta (one extra copy of the weights besides x_ref); ``store_delta=False``
recomputes it as Delta_t = (x_t - x_ref) / S_t each step (the paper's memory-saving variant), which costs one copy
less between steps but loses precision when S_t * |Delta_t| is below the weights' rounding (float32 early in a run).
Either way, a step holds one transient copy of the weights (x_t, to read off the base update u_t = x_after - x_t).

Short runs (``restart_factor``, ``freeze_after``; tuneless' additions, off by default, docs/auto.md): the scale starts
at ``s_init`` and grows about a decade per 5 steps; while it is tiny the weights barely move, so Delta fills with
gradients taken at the start and the scale settles where that stale direction is best, 10-100x below a tuned lr at
a few hundred steps. ``restart_factor=10`` restarts the tuner from the current weights each time S has grown
tenfold since the last (re)start: x_ref = x_t, Delta = 0, m = v = r = 0 and s_i = S / n, so the iterate and the
scale are unchanged and only the stale history goes. ``freeze_after=k`` stops learning the scale after k steps:
from then on x_{t+1} = x_t + S u_t with S fixed (the schedule's decay anneals the steps).

Seeded start (``seed(scale)``, ``paused``; tuneless' additions for ``AutoLR``): while ``paused`` is true a step is
the base optimizer's own step (scale 1, nothing learned, no state kept), so ``AutoLR``'s pilot can ramp the base lr
through Mechanic; ``seed(scale)`` then starts the tuner at ``scale`` from the current weights instead of at
``s_init`` (the pilot's min-loss lr over 10 spares the growth phase and its stale history).

The schedule sets the shape and Mechanic the scale: the base optimizer's ``param_groups`` are Mechanic's, so
``ScheduleLR(mechanic, schedule, T)`` scales the base update u_t, and the learned ``scale`` S_t multiplies it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import torch

__all__ = ["Mechanic", "PAPER_BETAS"]

PAPER_BETAS = tuple(1.0 - 10.0**-k for k in range(1, 7))  # 0.9, 0.99, ..., 0.999999 (paper, Section 3)


class Mechanic(torch.optim.Optimizer):
    """Wraps a base optimizer and learns the scale of its updates (Mechanic, arXiv 2306.00144, Algorithm 1).

    Args:
        base: a ``torch.optim.Optimizer`` instance, or an optimizer class built as ``base(params, **base_kwargs)``.
        params: the parameters (or param-group dicts) when ``base`` is a class; must be None for an instance.
        betas: the tuner's decay rates (default the paper's six, 0.9 ... 0.999999), each in (0, 1).
        weight_decay: the paper's lambda (0.01), >= 0; unrelated to the base optimizer's own weight decay.
        s_init: the initial scale S_2 (paper: 1e-8; optax uses 1e-6), > 0.
        eps: the paper's epsilon (1e-8), > 0.
        clip_h: clip h to [-m_{t-1}, m_{t-1}] in the r update, as optax.contrib.mechanize does (default off).
        store_delta: keep Delta in memory (default) or recompute it from the reference weights each step.
        restart_factor: restart the tuner from the current weights each time the scale has grown by this factor
            (> 1) since the last (re)start; default None: never (the paper).
        freeze_after: stop learning the scale after this many steps (>= 1); default None: never (the paper).
        **base_kwargs: passed to ``base`` when it is a class.

    Parameters without a gradient at a step get no base update there (torch optimizers skip them) and still follow
    x = x_ref + S * Delta; a parameter is added to Mechanic's state at its first gradient, with x_ref its value then.
    Frozen parameters (never a gradient) are never touched. ``state_dict()`` keys per-parameter state by the
    parameter's index over the param groups (as torch optimizers do), so a checkpoint loads into a fresh process.
    """

    def __init__(
        self,
        base: torch.optim.Optimizer | type[torch.optim.Optimizer],
        params: Iterable[Any] | None = None,
        *,
        betas: Iterable[float] = PAPER_BETAS,
        weight_decay: float = 0.01,
        s_init: float = 1e-8,
        eps: float = 1e-8,
        clip_h: bool = False,
        store_delta: bool = True,
        restart_factor: float | None = None,
        freeze_after: int | None = None,
        **base_kwargs: Any,
    ) -> None:
        if isinstance(base, torch.optim.Optimizer):
            if params is not None or base_kwargs:
                raise ValueError(
                    "Mechanic: params and base optimizer arguments go with an optimizer class, not an instance"
                )
            self.base = base
        elif isinstance(base, type) and issubclass(base, torch.optim.Optimizer):
            if params is None:
                raise ValueError(f"Mechanic: base={base.__name__} is a class, so params are required")
            self.base = base(params, **base_kwargs)
        else:
            raise ValueError(f"Mechanic: base must be a torch.optim.Optimizer instance or class, got {base!r}")
        self.betas = tuple(float(b) for b in betas)
        if not self.betas or not all(0.0 < b < 1.0 for b in self.betas):
            raise ValueError(f"Mechanic: betas must be a non-empty list of values in (0, 1), got {self.betas}")
        if not weight_decay >= 0.0:
            raise ValueError(f"Mechanic: weight_decay must be >= 0, got {weight_decay}")
        if not s_init > 0.0:
            raise ValueError(f"Mechanic: s_init must be > 0, got {s_init}")
        if not eps > 0.0:
            raise ValueError(f"Mechanic: eps must be > 0, got {eps}")
        if restart_factor is not None and not restart_factor > 1.0:
            raise ValueError(f"Mechanic: restart_factor must be > 1 (or None), got {restart_factor}")
        if freeze_after is not None and not (isinstance(freeze_after, int) and freeze_after >= 1):
            raise ValueError(f"Mechanic: freeze_after must be an integer >= 1 (or None), got {freeze_after!r}")
        self.restart_factor = None if restart_factor is None else float(restart_factor)
        self.freeze_after = freeze_after
        self.weight_decay = float(weight_decay)
        self.s_init = float(s_init)
        self.eps = float(eps)
        self.clip_h = bool(clip_h)
        self.store_delta = bool(store_delta)
        super().__init__([{"params": g["params"]} for g in self.base.param_groups], {})
        self.param_groups = self.base.param_groups  # one list: schedulers set the base optimizer's lr
        self.defaults = self.base.defaults
        self.tuner: dict[str, torch.Tensor] | None = None  # m, v, r, s per beta; created at the first step
        self.paused = False  # True: step() is the base optimizer's step (AutoLR's pilot)
        self.unpaused_calls = 0  # step() calls while not paused, this process only (AutoLR checks it is stepped)
        self._seed: float | None = None  # the scale of the first step when seeded before it (seed())

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Adds a group to the base optimizer (which fills in its defaults); Mechanic shares its group list."""
        if "param_groups" in self.__dict__ and self.param_groups is self.base.param_groups:
            self.base.add_param_group(param_group)
        else:  # during torch.optim.Optimizer.__init__, before the lists are shared
            super().add_param_group(param_group)

    @property
    def scale(self) -> float:
        """The learned scale S_t = sum_i s_{t,i} that multiplies the accumulated base updates (s_init before step 1)."""
        if self.tuner is None:
            return self.s_init if self._seed is None else self._seed
        return float(self.tuner["s"].sum())

    def _new_tuner(self, like: torch.Tensor, start: float | None = None) -> dict[str, torch.Tensor]:
        """A fresh tuner starting at scale ``start`` (default ``s_init``), on ``like``'s device (float32 or wider)."""
        start = self.s_init if start is None else start
        dtype = torch.promote_types(like.dtype, torch.float32)
        zeros = torch.zeros(len(self.betas), dtype=dtype, device=like.device)
        return {
            "betas": torch.tensor(self.betas, dtype=dtype, device=like.device),
            "m": zeros.clone(),
            "v": zeros.clone(),
            "r": zeros.clone(),
            "s": torch.full_like(zeros, start / len(self.betas)),
            "start": torch.tensor(start, dtype=dtype, device=like.device),  # S at the last (re)start
            "steps": torch.tensor(0, dtype=torch.int64, device=like.device),  # steps taken
            "restarts": torch.tensor(0, dtype=torch.int64, device=like.device),
        }

    @property
    def restarts(self) -> int:
        """How many times the tuner restarted (``restart_factor``)."""
        return 0 if self.tuner is None else int(self.tuner["restarts"])

    def seed(self, scale: float) -> None:
        """Start (or restart) the tuner at ``scale`` from the current weights: x_ref = x, Delta = 0, m = v = r = 0,
        s_i = scale / n, and its step count (``freeze_after``) from 0; the next step learns from there. Before the
        first step it replaces ``s_init`` for that step (a fresh Mechanic with ``s_init=scale``). ``AutoLR`` seeds it
        after its pilot."""
        number = isinstance(scale, (numbers.Real, torch.Tensor)) and not isinstance(scale, bool)
        value = float(scale) if number and (not isinstance(scale, torch.Tensor) or scale.numel() == 1) else 0.0
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"Mechanic.seed: scale must be a finite number > 0, got {scale!r}")
        if self.tuner is None:
            self._seed = value
            return
        params = [p for g in self.param_groups for p in g["params"]]
        tracked = [p for p in params if p in self.state]
        self._start_at(tracked, torch.tensor(value, dtype=self.tuner["s"].dtype, device=self.tuner["s"].device))
        self.tuner["steps"].zero_()

    def _delta(self, p: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        state = self.state[p]
        return state["delta"] if self.store_delta else (p - state["x_ref"]) / scale.to(p.dtype)

    @torch.no_grad()
    def step(self, closure=None):  # type: ignore[override]
        """One Mechanic step: the base step gives u_t, the tuner gives S_{t+1}, the weights become x_ref + S Delta."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        if self.paused:
            self.base.step()
            return loss
        self.unpaused_calls += 1
        params = [p for g in self.param_groups for p in g["params"]]
        with_grad = [p for p in params if p.grad is not None]
        if not with_grad:
            return loss
        if self.tuner is None:
            self.tuner, self._seed = self._new_tuner(with_grad[0], self._seed), None
        tuner = self.tuner
        for p in with_grad:
            if not self.state[p]:
                self.state[p]["x_ref"] = p.detach().clone()
                if self.store_delta:
                    self.state[p]["delta"] = torch.zeros_like(p)
        tracked = [p for p in params if p in self.state]
        scale = tuner["s"].sum()

        frozen = self.freeze_after is not None and int(tuner["steps"]) >= self.freeze_after
        if not frozen:
            self._update_tuner(tuner, self._h(with_grad, scale))
        tuner["steps"] += 1
        new_scale = tuner["s"].sum()

        x_before = {p: p.detach().clone() for p in tracked}  # the step's one transient copy of the weights
        self.base.step()
        for p in tracked:
            x_t, x_ref = x_before.pop(p), self.state[p]["x_ref"]
            p.sub_(x_t)  # u_t = x_after - x_t
            if self.store_delta:
                delta = self.state[p]["delta"].add_(p)  # Delta_{t+1} = Delta_t + u_t
            else:
                delta = p.add_(x_t.sub_(x_ref).div_(scale.to(p.dtype)))  # u_t + (x_t - x_ref) / S_t
            p.copy_(delta).mul_(new_scale.to(p.dtype)).add_(x_ref)  # x_{t+1} = x_ref + S_{t+1} Delta_{t+1}
        if self.restart_factor is not None and not frozen and new_scale > self.restart_factor * tuner["start"]:
            self._start_at(tracked, new_scale)
            tuner["restarts"] += 1
        return loss

    def _h(self, with_grad: list[torch.Tensor], scale: torch.Tensor) -> torch.Tensor:
        """h_t = <Delta, g> + lambda * S * ||g|| / (||x|| + eps) * <Delta, x>, over the parameters with a gradient."""

        def total(values):
            return torch.stack([v.to(device=scale.device, dtype=scale.dtype) for v in values]).sum()

        def dot(a, b):
            return torch.dot(a.reshape(-1), b.reshape(-1))

        delta_dot_grad, delta_dot_x = [], []
        for p in with_grad:
            delta = self._delta(p, scale)  # in recompute mode a temporary of one parameter's size
            delta_dot_grad.append(dot(delta, p.grad))
            delta_dot_x.append(dot(delta, p))
        grad_norm = total([dot(p.grad, p.grad) for p in with_grad]).sqrt()
        x_norm = total([dot(p, p) for p in with_grad]).sqrt()
        return total(delta_dot_grad) + self.weight_decay * scale * grad_norm / (x_norm + self.eps) * total(delta_dot_x)

    def _update_tuner(self, tuner: dict[str, torch.Tensor], h: torch.Tensor) -> None:
        """m, v, r and s of every beta from this step's h (the paper's recursion; s_init: the last (re)start's S)."""
        betas, m_prev = tuner["betas"], tuner["m"]
        h_for_r = torch.minimum(torch.maximum(h, -m_prev), m_prev) if self.clip_h else h
        tuner["m"] = torch.maximum(betas * m_prev, h.abs() + self.eps)
        tuner["v"] = betas**2 * tuner["v"] + h**2
        tuner["r"] = torch.clamp(betas * tuner["r"] - tuner["s"] * h_for_r, min=0.0)
        wealth = tuner["start"] / len(self.betas) * tuner["m"] + tuner["r"]
        tuner["s"] = wealth / (tuner["v"].sqrt() + self.eps)

    def _start_at(self, tracked: list[torch.Tensor], scale: torch.Tensor) -> None:
        """Forget the history, keep the iterate: x_ref = x, Delta = 0, m = v = r = 0, s_i = scale / n (a restart
        keeps the scale S; a seed sets it)."""
        for p in tracked:
            self.state[p]["x_ref"].copy_(p)
            if self.store_delta:
                self.state[p]["delta"].zero_()
        tuner = self.tuner
        assert tuner is not None
        for key in ("m", "v", "r"):
            tuner[key] = torch.zeros_like(tuner[key])
        tuner["s"] = torch.full_like(tuner["s"], float(scale) / len(self.betas))
        tuner["start"] = scale.detach().clone()

    def state_dict(self) -> dict[str, Any]:  # type: ignore[override]
        """Base optimizer state, tuner state and per-parameter x_ref/Delta keyed by parameter index."""
        params = [p for g in self.param_groups for p in g["params"]]
        per_param = {
            i: {k: v.clone() for k, v in self.state[p].items()} for i, p in enumerate(params) if p in self.state
        }
        return {
            "base": self.base.state_dict(),
            "tuner": None if self.tuner is None else {k: v.clone() for k, v in self.tuner.items()},
            "seed": self._seed,
            "per_param": per_param,
            "config": {
                "betas": list(self.betas),
                "weight_decay": self.weight_decay,
                "s_init": self.s_init,
                "eps": self.eps,
                "clip_h": self.clip_h,
                "store_delta": self.store_delta,
                "restart_factor": self.restart_factor,
                "freeze_after": self.freeze_after,
            },
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:  # type: ignore[override]
        """Loads a ``state_dict()`` from a Mechanic built with the same settings over the same parameters."""
        if not isinstance(state_dict, dict) or not {"config", "base", "per_param", "tuner"} <= set(state_dict):
            raise ValueError(
                "Mechanic.load_state_dict: this is not a Mechanic's state (a plain optimizer's, e.g. saved by "
                "TunelessTrainer(auto='linear') or AutoLRCallback(method='linear')): resume the run as it was built"
            )
        config = {
            "restart_factor": None,
            "freeze_after": None,
            **state_dict["config"],
        }  # older checkpoints: the paper's
        mine = self.state_dict()["config"]
        differ = {
            k: (config.get(k), mine.get(k)) for k in sorted(set(config) | set(mine)) if config.get(k) != mine.get(k)
        }
        if differ:
            said = ", ".join(f"{k}={saved!r} (this Mechanic: {own!r})" for k, (saved, own) in differ.items())
            hint = (
                "; freeze_after comes from the run's length: resume with the same steps"
                if "freeze_after" in differ
                else ""
            )
            raise ValueError(f"Mechanic.load_state_dict: the checkpoint's {said}{hint}")
        params = [p for g in self.param_groups for p in g["params"]]
        bad = [i for i in state_dict["per_param"] if not 0 <= int(i) < len(params)]
        if bad:
            raise ValueError(f"Mechanic.load_state_dict: parameter indices {bad} out of range (have {len(params)})")
        self.base.load_state_dict(state_dict["base"])
        self.param_groups = self.base.param_groups  # load_state_dict replaces the base's group list
        self.state.clear()
        for i, entry in state_dict["per_param"].items():
            p = params[int(i)]
            self.state[p] = {k: v.to(device=p.device, dtype=p.dtype) for k, v in entry.items()}
        tuner = state_dict["tuner"]
        self._seed = state_dict.get("seed")  # older checkpoints: none
        if tuner is None:
            self.tuner = None
        else:
            device = params[0].device
            self.tuner = {k: v.to(device).clone() for k, v in tuner.items()}
            for key, value in self._new_tuner(self.tuner["s"]).items():  # older checkpoints: no restarts, step count 0
                self.tuner.setdefault(key, value)
