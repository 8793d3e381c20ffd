"""Lightning: record the gradient norms into a trace, and step a tuneless schedule once per optimizer step.

* ``GradNormCallback("trace.csv")``: one row per optimizer step, recorded in ``on_before_optimizer_step``, which
  Lightning calls after the gradients are accumulated and unscaled and before it clips them. Row ``t`` is
  ``trainer.global_step`` t; the trace is flushed with every checkpoint, and a fit resumed from a checkpoint appends
  to the same file from the checkpoint's step (rows an interrupted run wrote past it are dropped).
* ``lr_scheduler_config(optimizer, schedule, trainer)``: the ``lr_scheduler`` entry for ``configure_optimizers``,
  with ``interval="step"`` (Lightning steps a scheduler once per epoch unless told otherwise) and the horizon
  ``trainer.estimated_stepping_batches`` (optimizer steps, after gradient accumulation, over all epochs).

Refinement: Defazio, Cutkosky, Mehta, Mishchenko 2023, arXiv 2310.07831 (docs/refine.md).
"""

from __future__ import annotations

import math
import os
from typing import Any

from ..extras import require
from ._recording import FinalGradients, recorder_at

require("lightning", "the 'lightning' integration (tuneless.integrations.lightning)")

import lightning.pytorch as pl  # noqa: E402

from ..schedules import Schedule  # noqa: E402
from ..torch import GradNormRecorder, ScheduleLR  # noqa: E402

__all__ = ["GradNormCallback", "lr_scheduler_config"]


class GradNormCallback(pl.Callback):
    """Records ``grad_l2``, ``grad_l1`` and the lrs of every optimizer step into ``path`` (one optimizer).

    Args:
        path: the trace file (created, or appended to by a resumed fit).
        flush_every: optimizer steps between writes to the file (also written at every checkpoint and at the end).
        sharded: True under FSDP or DeepSpeed ZeRO (each rank holds a shard of the gradient).
    """

    def __init__(self, path: str | os.PathLike[str], flush_every: int = 100, *, sharded: bool = False) -> None:
        if not isinstance(flush_every, int) or flush_every < 1:
            raise ValueError(f"flush_every={flush_every!r} must be an integer >= 1")
        self.path = path
        self.flush_every = flush_every
        self.sharded = sharded
        self.recorder: GradNormRecorder | None = None
        self._gradients: FinalGradients | None = None

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if len(trainer.optimizers) != 1:
            raise ValueError(f"GradNormCallback records one optimizer; this module has {len(trainer.optimizers)}")
        self._close()
        # trainer.global_step is the checkpoint's step when resuming, 0 otherwise.
        self._gradients, self.recorder = recorder_at(
            trainer.optimizers[0],
            self.path,
            self.flush_every,
            trainer.global_step,
            sharded=self.sharded,
        )

    def on_before_optimizer_step(self, trainer: pl.Trainer, pl_module: pl.LightningModule, optimizer: Any) -> None:
        if self._gradients is not None:
            self._gradients.ready()

    def on_save_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: Any) -> None:
        if self.recorder is not None:
            self.recorder.flush()

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._close()

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        self._close()  # what was recorded reaches the file; a resume drops the steps past its checkpoint

    def _close(self) -> None:
        if self.recorder is not None:
            self.recorder.close()
            self.recorder = None
            self._gradients = None


def lr_scheduler_config(optimizer: Any, schedule: Schedule | str, trainer: pl.Trainer) -> dict[str, Any]:
    """``{"scheduler": ScheduleLR(optimizer, schedule, T), "interval": "step", "frequency": 1}`` with
    ``T = trainer.estimated_stepping_batches``; return it as ``"lr_scheduler"`` from ``configure_optimizers``
    (where ``self.trainer`` is the trainer)."""
    total = trainer.estimated_stepping_batches
    if not math.isfinite(total) or total < 1:
        raise ValueError(
            f"trainer.estimated_stepping_batches={total!r}: a schedule needs a finite number of optimizer steps; "
            "set max_steps or max_epochs on the Trainer"
        )
    return {"scheduler": ScheduleLR(optimizer, schedule, int(total)), "interval": "step", "frequency": 1}
