"""Integrations with the training frameworks users already call: Hugging Face ``Trainer``, Lightning, timm and
accelerate. Each lives in its own module, imported only when asked for, and needs its framework from an optional
extra (``pip install 'tuneless[transformers]'``, ``[lightning]``, ``[timm]``, ``[accelerate]``):

* ``tuneless.integrations.transformers``: ``GradNormCallback`` (the trace) and ``TunelessTrainer`` (any tuneless
  schedule over Trainer's own ``num_training_steps``; ``auto=True``: as ``tuneless.auto.one_run``, no learning
  rate to tune);
* ``tuneless.integrations.lightning``: ``GradNormCallback``, ``lr_scheduler_config`` (``interval="step"``) and
  ``AutoLRCallback`` (as ``tuneless.auto.one_run``);
* ``tuneless.integrations.timm``: ``TimmScheduleLR``, a ``timm.scheduler.Scheduler`` driven by ``step_update``;
* ``tuneless.integrations.accelerate``: ``record_before_clipping`` for hand-written accelerate loops.

All of them record with ``tuneless.torch.GradNormRecorder`` (one row per optimizer step, after unscaling, after
gradient accumulation, before clipping) and schedule with ``tuneless.torch.ScheduleLR``. See docs/integrations.md.
A missing framework is the ``ImportError`` of :func:`tuneless.extras.require` (re-exported here), naming the extra.
"""

from __future__ import annotations

from ..extras import require

__all__ = ["require"]
