"""``OnlineRefinedLR``: an LR scheduler that refines its own schedule while it trains, from one run, no prior.

Refinement (Defazio, Cutkosky, Mehta, Mishchenko, arXiv 2310.07831) sets the schedule from the gradient norms of a
previous run. This scheduler records the norms of its own run instead (the :class:`GradNormRecorder` design: an
optimizer step pre-hook, per-step norms kept on the gradients' device, one host transfer per re-plan) and every
``replan_every`` steps re-plans the rest of the run with :func:`tuneless.refine.online.online_plan`: the refined
schedule of the whole run from the norms seen so far and a model of the unseen ones. Until the first re-plan it
follows warmup + linear decay. At a re-plan the new plan is joined to the current multipliers over ``join_steps``
steps (:func:`tuneless.refine.online.joined`): no jump, always in ``[0, 1]`` times each group's base lr, 0 at
``total_steps``.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

import torch

from ..refine.online import DEFAULT_FUTURE, check_future, joined, online_plan, plot_online
from ..refine.refinement import DEFAULT_TAU, check_weighting
from ..schedules import Linear, Warmup
from ..schedules._base import check_total_steps
from .recorder import GradNormRecorder, _dist, partial_norm_sums
from .scheduler import MultiplierLR

__all__ = ["OnlineRefinedLR"]


class OnlineRefinedLR(MultiplierLR):
    """Sets ``group["lr"] = group["initial_lr"] * m_t`` with ``m`` re-planned from this run's gradient norms.

    Call ``scheduler.step()`` after ``optimizer.step()``, once per optimizer step (also when ``GradScaler`` skipped
    the step: a skipped step records no norm). Step ``t`` (0-based) runs with ``m_t``; ``m_T = 0``.

    Args:
        optimizer: any ``torch.optim.Optimizer``; its groups' ``lr`` are the peak lrs.
        total_steps: the horizon ``T`` in optimizer steps.
        weighting: ``"sgd"`` (L2 norms, ``w = ||g||_2^-2``) or ``"adam"`` (L1 norms, ``w = ||g||_1^-1``; any
            coordinate-wise optimizer), as in offline refinement.
        future: the model of the unseen norms, one of ``FUTURE_MODELS`` (default ``DEFAULT_FUTURE``).
        tau: median window as a fraction of ``T`` (default 0.1, as offline).
        warmup: the linear warmup of the schedule followed until the first re-plan, a fraction of ``T``.
        first_replan: the first re-plan, a fraction of ``T`` (at least the warmup, at least 2 steps).
        replan_every: steps between re-plans (default ``T // 10``); each costs one host transfer (and, sharded,
            one all_reduce; with DDP, one broadcast from rank 0 so that every rank uses the same lrs).
        join_steps: steps over which a new plan replaces the current multipliers (default ``replan_every // 2``).
        sharded: True when each rank holds only a shard of the gradient (FSDP, ZeRO).
        process_group: the group to reduce over (default: the world).
        trace: also write a ``GradNormRecorder`` trace there (it computes the norms itself, a second time).

    ``state_dict`` holds the recorded norms, the multipliers and every re-plan as plain tensors and numbers
    (``torch.load(weights_only=True)`` reads it); a resumed run gets bitwise the same lrs as an uninterrupted one.
    ``replans`` maps each re-plan's step to the plan it made (steps ``t..T``) for plotting
    (:func:`tuneless.refine.online.plot_online`).
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        total_steps: int,
        weighting: str,
        *,
        future: str = DEFAULT_FUTURE,
        tau: float = DEFAULT_TAU,
        warmup: float = 0.05,
        first_replan: float = 0.1,
        replan_every: int | None = None,
        join_steps: int | None = None,
        sharded: bool = False,
        process_group: Any = None,
        trace: str | os.PathLike[str] | None = None,
    ) -> None:
        self.total_steps = T = check_total_steps(total_steps)
        check_weighting(weighting, "OnlineRefinedLR")
        check_future(future, "OnlineRefinedLR")
        for name, value in (("tau", tau), ("warmup", warmup), ("first_replan", first_replan)):
            if not (isinstance(value, (int, float)) and 0.0 <= value < 1.0):
                raise ValueError(f"OnlineRefinedLR: {name}={value!r} must be in [0, 1) (a fraction of total_steps)")
        self.weighting, self.future, self.tau, self.warmup = weighting, future, float(tau), float(warmup)
        warmup_steps = round(self.warmup * T)
        self.first_replan = max(2, warmup_steps, round(first_replan * T))
        self.replan_every = max(1, T // 10) if replan_every is None else replan_every
        self.join_steps = max(1, self.replan_every // 2) if join_steps is None else join_steps
        for name, value in (("replan_every", self.replan_every), ("join_steps", self.join_steps)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"OnlineRefinedLR: {name}={value!r} must be an integer >= 1")
        self.sharded, self.process_group = sharded, process_group
        initial = Warmup(Linear(), fraction=self.warmup) if self.warmup > 0 else Linear()
        self.multipliers = np.asarray(initial.values(T, endpoint=True), dtype=float)
        self.multipliers[-1] = 0.0
        self.replans: dict[int, np.ndarray] = {}
        self._norms = np.full(0, np.nan)  # this run's norms (weighting's column), on the host up to the last re-plan
        self._pending: list[torch.Tensor] = []  # per-step [sum of squares, sum of |g|], on the gradients' device
        self._pending_steps: list[int] = []
        self.recorder = (
            GradNormRecorder(optimizer, trace, self.replan_every, sharded=sharded, process_group=process_group)
            if trace is not None
            else None
        )
        self._hook = optimizer.register_step_pre_hook(self._record)
        super().__init__(optimizer)

    # -- recording (the recorder's no-sync design) ---------------------------------------------------------------
    def _record(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        if grads:
            self._pending.append(partial_norm_sums(grads))
        else:  # no gradient on this rank: contributes zero (a shard may own nothing)
            device = next(p.device for group in optimizer.param_groups for p in group["params"])
            self._pending.append(torch.zeros(2, dtype=torch.float64, device=device))
        self._pending_steps.append(self.last_epoch)

    def _transfer(self) -> None:
        """Moves the pending norms to the host: one stack, one collective when distributed, one copy."""
        if not self._pending:
            return
        device = self._pending[0].device
        window = torch.stack([s.to(device) for s in self._pending])
        dist = _dist()
        if dist is not None and dist.get_world_size(self.process_group) > 1:
            if self.sharded:
                dist.all_reduce(window, group=self.process_group)
            else:  # replicated gradients: every rank takes rank 0's norms, so every rank plans the same lrs
                source = 0 if self.process_group is None else dist.get_global_rank(self.process_group, 0)
                dist.broadcast(window, src=source, group=self.process_group)
        self._store(window.cpu().numpy(), self._pending_steps)
        self._pending.clear()
        self._pending_steps.clear()

    def _store(self, sums: np.ndarray, steps: list[int]) -> None:
        column = np.sqrt(np.maximum(sums[:, 0], 0.0)) if self.weighting == "sgd" else sums[:, 1]
        needed = max(steps) + 1
        if needed > len(self._norms):
            self._norms = np.concatenate([self._norms, np.full(needed - len(self._norms), np.nan)])
        self._norms[steps] = column

    # -- the schedule ----------------------------------------------------------------------------------------------
    def _is_replan_step(self, t: int) -> bool:
        return self.first_replan <= t < self.total_steps and (t - self.first_replan) % self.replan_every == 0

    def replan(self) -> None:
        """Re-plans steps ``t..T`` (``t`` the current step) from the norms of steps ``0..t-1``."""
        t = self.last_epoch
        self._transfer()
        seen = np.full(t, np.nan)
        n = min(t, len(self._norms))
        seen[:n] = self._norms[:n]
        plan = online_plan(seen, self.total_steps, self.weighting, self.future, self.tau)
        self.replans[t] = plan
        self.multipliers[t:] = joined(self.multipliers[t:], plan, self.join_steps)

    def multiplier(self, step: int | None = None) -> float:
        """The multiplier at ``step`` (default: the current step), held at ``total_steps``."""
        t = self.last_epoch if step is None else step
        return float(self.multipliers[min(t, self.total_steps)])

    def _before_apply(self) -> None:
        if self._is_replan_step(self.last_epoch):
            self.replan()

    @property
    def norms(self) -> np.ndarray:
        """The norms recorded so far (the weighting's column; NaN for a step without a record), on the host up to the
        last re-plan (``state_dict`` and ``plot`` bring the rest over)."""
        return self._norms.copy()

    def plot(self, path: str | os.PathLike[str], title: str | None = None) -> Any:
        """The ``tuneless refine``-style figure of this run: norms, every re-plan and the schedule used
        (:func:`tuneless.refine.online.plot_online`). Moves pending norms to the host (a collective when
        distributed: call it on every rank)."""
        self._transfer()
        return plot_online(
            self._norms, self.multipliers, self.replans, path, weighting=self.weighting, tau=self.tau, title=title
        )

    def close(self) -> None:
        """Detaches from the optimizer (and closes the trace); idempotent."""
        if self._hook is not None:
            self._hook.remove()
            self._hook = None
        if self.recorder is not None:
            self.recorder.close()

    # -- checkpoints ---------------------------------------------------------------------------------------------
    def _config(self) -> dict[str, Any]:
        return {
            "total_steps": self.total_steps,
            "weighting": self.weighting,
            "future": self.future,
            "tau": self.tau,
            "warmup": self.warmup,
            "first_replan": self.first_replan,
            "replan_every": self.replan_every,
            "join_steps": self.join_steps,
        }

    def state_dict(self) -> dict[str, Any]:
        """Plain data: the config, the step, the base lrs, the multipliers, the norms recorded so far (the pending
        ones are moved to the host: one transfer, local to this rank, no collective) and the re-plans."""
        pending = torch.stack([s.to("cpu") for s in self._pending]) if self._pending else torch.zeros(0, 2)
        return {
            "config": self._config(),
            "last_epoch": self.last_epoch,
            "_step_count": self._step_count,
            "base_lrs": [float(b) for b in self.base_lrs],
            "_warned_past_horizon": self._warned_past_horizon,
            "multipliers": torch.from_numpy(self.multipliers.copy()),
            "norms": torch.from_numpy(self._norms.copy()),
            "pending_sums": pending.to(torch.float64),
            "pending_steps": list(self._pending_steps),
            "replans": {int(k): torch.from_numpy(v.copy()) for k, v in self.replans.items()},
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        config = state_dict["config"]
        if config != self._config():
            changed = sorted(k for k in config if config[k] != self._config().get(k))
            raise ValueError(
                f"OnlineRefinedLR: the checkpoint was made with other settings ({', '.join(changed)}: "
                f"{[config[k] for k in changed]} there, {[self._config().get(k) for k in changed]} here)"
            )
        if len(state_dict["base_lrs"]) != len(self.optimizer.param_groups):
            raise ValueError(
                f"OnlineRefinedLR: the checkpoint has {len(state_dict['base_lrs'])} param groups, the optimizer has "
                f"{len(self.optimizer.param_groups)}"
            )
        self.last_epoch = int(state_dict["last_epoch"])
        self._step_count = int(state_dict["_step_count"])
        self.base_lrs = list(state_dict["base_lrs"])
        self._warned_past_horizon = bool(state_dict["_warned_past_horizon"])
        self.multipliers = state_dict["multipliers"].numpy().astype(float).copy()
        self._norms = state_dict["norms"].numpy().astype(float).copy()
        device = next(p.device for g in self.optimizer.param_groups for p in g["params"])
        sums = state_dict["pending_sums"].to(torch.float64)
        self._pending = [row.to(device) for row in sums]
        self._pending_steps = [int(s) for s in state_dict["pending_steps"]]
        self.replans = {int(k): v.numpy().copy() for k, v in state_dict["replans"].items()}
        self._apply()

    def __del__(self) -> None:
        try:
            if self._hook is not None:
                self._hook.remove()
        except Exception:
            pass
