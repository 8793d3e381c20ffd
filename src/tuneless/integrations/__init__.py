"""Integrations with the training frameworks users already call: Hugging Face ``Trainer``, Lightning, timm and
accelerate. Each lives in its own module, imported only when asked for, and needs its framework from an optional
extra (``pip install 'tuneless[transformers]'``, ``[lightning]``, ``[timm]``, ``[accelerate]``):

* ``tuneless.integrations.transformers``: ``GradNormCallback`` (the trace) and ``TunelessTrainer`` /
  ``optimizer_and_scheduler`` (any tuneless schedule over Trainer's own ``num_training_steps``);
* ``tuneless.integrations.lightning``: ``GradNormCallback`` and ``lr_scheduler_config`` (``interval="step"``);
* ``tuneless.integrations.timm``: ``TimmScheduleLR``, a ``timm.scheduler.Scheduler`` driven by ``step_update``;
* ``tuneless.integrations.accelerate``: ``record_before_clipping`` for hand-written accelerate loops.

All of them record with ``tuneless.torch.GradNormRecorder`` (one row per optimizer step, after unscaling, after
gradient accumulation, before clipping) and schedule with ``tuneless.torch.ScheduleLR``. See docs/integrations.md.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["require"]


def require(module: str, extra: str) -> ModuleType:
    """Imports ``module`` or raises an ``ImportError`` naming the tuneless extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"tuneless.integrations.{extra} needs the package {module.split('.')[0]!r}, which is not installed "
            f"({error}): pip install 'tuneless[{extra}]'"
        ) from error
