"""timm: ``TimmScheduleLR``, a ``timm.scheduler.Scheduler`` that drives any tuneless schedule per update.

timm's training script calls ``lr_scheduler.step_update(num_updates=...)`` after every optimizer update and
``lr_scheduler.step(epoch)`` after every epoch. ``TimmScheduleLR`` counts in updates (``t_in_epochs=False``): after
``step_update(num_updates=t)`` every param group's lr is its initial lr times ``schedule(t, total_updates)``, so
update ``t`` (0-based) runs with ``schedule(t, T) * peak``; ``step(epoch)`` changes nothing. Pass
``total_updates = epochs * updates_per_epoch`` (timm's ``updates_per_epoch`` already divides by gradient
accumulation).

Only timm's ``Scheduler`` base class is needed. ``import timm`` also imports its layers, which need torchvision; where
torchvision is missing or cannot load (a CUDA build beside a CPU torch), this module loads timm's
``scheduler/scheduler.py`` on its own: it needs nothing but torch.

Refinement: Defazio, Cutkosky, Mehta, Mishchenko 2023, arXiv 2310.07831 (docs/refine.md).
"""

from __future__ import annotations

import functools
import importlib.util
import sys
import warnings
from pathlib import Path
from typing import Any

from ..extras import not_installed
from ..schedules import Schedule, as_schedule, from_dict
from ..schedules._base import check_total_steps

__all__ = ["TimmScheduleLR", "timm_scheduler_base"]


@functools.cache
def timm_scheduler_base() -> type:
    """timm's ``Scheduler`` class (``timm.scheduler.scheduler.Scheduler``), loaded once."""
    try:
        from timm.scheduler.scheduler import Scheduler

        return Scheduler
    except (ImportError, RuntimeError) as error:  # RuntimeError: a torchvision that cannot load beside this torch
        try:
            spec = importlib.util.find_spec("timm")
        except ValueError:
            spec = None
        if spec is None or spec.origin is None:
            raise not_installed("timm", "the 'timm' integration (tuneless.integrations.timm)") from error
        # timm is installed but its package import failed (its layers import torchvision): its scheduler module
        # needs only torch, so load that file alone, and say once that timm's models cannot be built here.
        from ._torchvision import TORCHVISION_FIX, torchvision_problem

        problem = torchvision_problem() or f"{type(error).__name__}: {error}; {TORCHVISION_FIX}"
        warnings.warn(
            f"import timm fails here, so no timm model can be built (TimmScheduleLR works: it loads timm's scheduler "
            f"module alone): {problem}",
            UserWarning,
            stacklevel=2,
        )
        return _scheduler_module_alone(Path(spec.origin).parent / "scheduler" / "scheduler.py").Scheduler


def _scheduler_module_alone(path: Path) -> Any:
    name = "tuneless.integrations._timm_scheduler"
    module_spec = importlib.util.spec_from_file_location(name, path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module  # pickling and inspect find its classes
    module_spec.loader.exec_module(module)
    return module


class TimmScheduleLR(timm_scheduler_base()):  # type: ignore[misc]
    """Sets each param group's lr to its initial lr times ``schedule(num_updates, total_updates)``.

    Example (timm's train loop)::

        scheduler = TimmScheduleLR(optimizer, "refined.json", total_updates=epochs * updates_per_epoch)
        for epoch in range(epochs):
            for batch in loader:
                ...; optimizer.step(); num_updates += 1
                scheduler.step_update(num_updates=num_updates)
            scheduler.step(epoch + 1)   # no effect: the schedule counts updates

    Args:
        optimizer: any ``torch.optim.Optimizer``; its groups' ``lr`` are the peak learning rates.
        schedule: a ``Schedule``, a spec string or a schedule JSON path (e.g. from ``tuneless refine``).
        total_updates: the horizon ``T`` in optimizer updates; past it the final value holds, with one warning.
    """

    def __init__(self, optimizer: Any, schedule: Schedule | str, total_updates: int) -> None:
        self.schedule = as_schedule(schedule)
        self.total_updates = check_total_steps(total_updates)
        self.schedule(0, self.total_updates)  # horizon checks (e.g. warmup < T) fail here, not mid-run
        self._warned_past_horizon = False  # as ScheduleLR: past the horizon the final value holds, with one warning
        super().__init__(optimizer, param_group_field="lr", t_in_epochs=False)
        self.update_groups(self._get_lr(0))

    def _get_lr(self, t: int) -> list[float]:
        if t > self.total_updates and not self._warned_past_horizon:
            self._warned_past_horizon = True
            warnings.warn(
                f"TimmScheduleLR updated past total_updates={self.total_updates} (num_updates={t}): holding the final "
                f"multiplier {float(self.schedule(self.total_updates, self.total_updates)):.6g} (this warning is "
                "shown once)",
                UserWarning,
                stacklevel=3,
            )
        multiplier = float(self.schedule(min(max(int(t), 0), self.total_updates), self.total_updates))
        return [float(base) * multiplier for base in self.base_values]

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["schedule"] = self.schedule.to_dict()  # plain data: torch.load(weights_only=True) reads it
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        state["schedule"] = from_dict(state["schedule"])
        super().load_state_dict(state)
