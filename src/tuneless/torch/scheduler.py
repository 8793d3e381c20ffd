"""``ScheduleLR``: any tuneless schedule as a ``torch.optim.lr_scheduler.LRScheduler``.

Each param group's lr is that group's own base lr (``initial_lr``) times ``schedule(step, total_steps)``: a closed
form of the step number, so resuming is exact and per-group learning rates are never overwritten by each other.
"""

from __future__ import annotations

import warnings
from typing import Any

from torch.optim.lr_scheduler import LRScheduler

import torch

from ..schedules import Schedule, as_schedule, from_dict

__all__ = ["MultiplierLR", "ScheduleLR"]


class MultiplierLR(LRScheduler):
    """What ``ScheduleLR`` and ``OnlineRefinedLR`` share: every param group's lr is its own base lr (``initial_lr``)
    times ``multiplier()``, a function of the step count; ``step()`` counts optimizer steps (no epoch argument),
    holds the final value past ``total_steps`` with one warning, and sets the lrs without reading a device tensor
    back (base lrs are python floats, read once; a tensor lr is filled in place). Subclasses give ``multiplier`` and
    may act at a step before the lrs are set (``_before_apply``).

    Built on torch's public scheduler API: torch's constructor records each group's ``initial_lr``, sets
    ``base_lrs`` and takes the first ``step()``; ``step()`` is overridden (as torch's ``LRScheduler`` docs allow) so
    that it sets the lrs itself, without torch's step-order warnings (a ``GradScaler`` that skips the first
    optimizer step sets them off for nothing; ScheduleLR never gave them) and keeping python floats for
    ``get_last_lr()`` (torch keeps a clone of a tensor lr per step). One private attribute of torch is kept up:
    ``_step_count``, which torch's constructor sets and accelerate's ``AcceleratedScheduler`` reads and advances;
    here it counts the ``step()`` calls after the constructor's (checkpoints hold it)."""

    total_steps: int

    def __init__(self, optimizer: torch.optim.Optimizer) -> None:
        self._warned_past_horizon = False
        self._restored = all("initial_lr" in g for g in optimizer.param_groups)
        self._lrs: list[float] = []
        super().__init__(optimizer, last_epoch=-1)
        # optimizer steps since the last scheduler step: more than one means the scheduler is stepped per epoch
        # (Lightning's default for a bare scheduler), which runs the schedule far slower than its horizon
        self._optimizer_steps, self._warned_stride = 0, False
        inner = optimizer  # a wrapper that never ran Optimizer.__init__ (accelerate's) has no hooks: its optimizer
        while "_optimizer_step_post_hooks" not in vars(inner) and hasattr(inner, "optimizer"):
            inner = inner.optimizer
        if "_optimizer_step_post_hooks" in vars(inner):
            inner.register_step_post_hook(self._count_optimizer_step)

    def _count_optimizer_step(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        self._optimizer_steps += 1

    def multiplier(self, step: int | None = None) -> float:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def get_lr(self) -> list[float]:
        m = self.multiplier()
        return [base * m for base in self.base_lrs]

    def get_last_lr(self) -> list[float]:
        """The lrs set by the last ``step()`` (python floats, also for tensor lrs)."""
        return self._lrs

    def step(self, epoch: int | None = None) -> None:  # type: ignore[override]
        name = type(self).__name__
        if epoch is not None:
            raise ValueError(f"{name}.step() takes no epoch: it counts optimizer steps itself")
        self.last_epoch += 1
        if self.last_epoch == 0:  # the constructor's step
            self._first_step()
            return
        self._step_count += 1
        if self._optimizer_steps > 1 and not self._warned_stride:
            self._warned_stride = True
            warnings.warn(
                f"{name}.step() came after {self._optimizer_steps} optimizer steps: it counts optimizer steps, so call "
                "it after every optimizer.step() (Lightning steps a bare scheduler once per epoch: return "
                "{'scheduler': scheduler, 'interval': 'step'}, or tuneless.integrations.lightning.lr_scheduler_config)",
                UserWarning,
                stacklevel=2,
            )
        self._optimizer_steps = 0
        if self.last_epoch > self.total_steps and not self._warned_past_horizon:
            self._warned_past_horizon = True
            warnings.warn(
                f"{name} stepped past total_steps={self.total_steps}: holding the final multiplier "
                f"{self.multiplier():.6g} (this warning is shown once)",
                UserWarning,
                stacklevel=2,
            )
        self._before_apply()
        self._apply()

    def _first_step(self) -> None:
        # base lrs as python floats, read once here: a tensor lr (fused/capturable optimizers) read back every step
        # would wait for the GPU every step
        self.base_lrs = [_plain(base) for base in self.base_lrs]
        if self._restored:  # an optimizer restored from a checkpoint: keep its lrs until load_state_dict
            self._lrs = [_plain(g["lr"]) for g in self.optimizer.param_groups]
        else:
            self._apply()

    def _before_apply(self) -> None:
        """Called by ``step()`` after the step count moved, before the lrs are set."""

    def _apply(self) -> None:
        """Set every group's lr; a tensor lr (``capturable``/fused optimizers) is filled in place on its device, and
        ``get_last_lr()`` returns the python floats computed here, so a step never reads a device tensor back."""
        lrs = self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, lrs, strict=True):
            if isinstance(group["lr"], torch.Tensor):
                group["lr"].fill_(lr)
            else:
                group["lr"] = lr
        self._lrs = lrs


class ScheduleLR(MultiplierLR):
    """Sets ``group["lr"] = group["initial_lr"] * schedule(step, total_steps)`` for every param group.

    Call ``scheduler.step()`` after ``optimizer.step()``, once per optimizer step. Optimizer step ``t``
    (0-based) runs with ``m(t, T)``; after the ``T``-th ``scheduler.step()`` the lr is the schedule's final value.
    Stepping past ``total_steps`` holds that final value and warns once; it never raises.

    Resume: save ``optimizer.state_dict()`` and ``scheduler.state_dict()``; load the optimizer state into a fresh
    optimizer, build the scheduler, then load its state. A scheduler built on an optimizer whose groups already
    carry ``initial_lr`` (a restored optimizer) leaves the restored lrs untouched. The state dict holds only plain
    data (the schedule as a dict), so ``torch.load(weights_only=True)`` reads it.

    Args:
        optimizer: any ``torch.optim.Optimizer``; its groups' ``lr`` are the peak learning rates.
        schedule: a ``Schedule``, a spec string (``"warmup(linear,fraction=0.05)"``) or a schedule JSON path.
        total_steps: the horizon ``T`` in optimizer steps.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, schedule: Schedule | str, total_steps: int) -> None:
        self.schedule = as_schedule(schedule)
        # total_steps and the horizon checks (e.g. warmup < T) once, here, not mid-run and not every step
        self._bound = self.schedule.bind(total_steps)
        self.total_steps = self._bound.total_steps
        written_for = (getattr(self.schedule, "meta", None) or {}).get("total_steps")
        if written_for is not None and written_for != self.total_steps:  # an extension (tuneless transfer --extend)
            warnings.warn(
                f"the schedule was written for a run of {written_for} steps in all; over total_steps="
                f"{self.total_steps} it is stretched by {self.total_steps / written_for:.4g}",
                UserWarning,
                stacklevel=2,
            )
        super().__init__(optimizer)

    def multiplier(self, step: int | None = None) -> float:
        """The schedule's multiplier at ``step`` (default: the current step), held at ``total_steps``."""
        t = self.last_epoch if step is None else step
        return float(self._bound(min(t, self.total_steps)))

    def state_dict(self) -> dict[str, Any]:
        return {
            "last_epoch": self.last_epoch,
            "_step_count": self._step_count,
            "total_steps": self.total_steps,
            "schedule": self.schedule.to_dict(),
            "base_lrs": [float(b) for b in self.base_lrs],
            "_warned_past_horizon": self._warned_past_horizon,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        saved = from_dict(state_dict["schedule"])
        if saved != self.schedule or state_dict["total_steps"] != self.total_steps:
            warnings.warn(
                f"resuming with schedule {self.schedule.spec} over {self.total_steps} steps; the checkpoint used "
                f"{saved.spec} over {state_dict['total_steps']} steps (keeping the new one)",
                UserWarning,
                stacklevel=2,
            )
        if len(state_dict["base_lrs"]) != len(self.optimizer.param_groups):
            raise ValueError(
                f"scheduler state has {len(state_dict['base_lrs'])} param groups, the optimizer has "
                f"{len(self.optimizer.param_groups)}"
            )
        self.last_epoch = int(state_dict["last_epoch"])
        self._step_count = int(state_dict["_step_count"])
        self.base_lrs = list(state_dict["base_lrs"])
        self._warned_past_horizon = bool(state_dict["_warned_past_horizon"])
        self._apply()


def _plain(lr: Any) -> float:
    return float(lr.item()) if isinstance(lr, torch.Tensor) else float(lr)
