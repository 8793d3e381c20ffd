"""Lightning: record the gradient norms into a trace, and step a tuneless schedule once per optimizer step.

* ``GradNormCallback("trace.csv")``: one row per optimizer step, recorded in ``on_before_optimizer_step``, which
  Lightning calls after the gradients are accumulated and unscaled and before it clips them. Row ``t`` is
  ``trainer.global_step`` t; the trace is flushed with every checkpoint, and a fit resumed from a checkpoint appends
  to the same file from the checkpoint's step (rows an interrupted run wrote past it are dropped).
* ``lr_scheduler_config(optimizer, schedule, trainer)``: the ``lr_scheduler`` entry for ``configure_optimizers``,
  with ``interval="step"`` (Lightning steps a scheduler once per epoch unless told otherwise) and the horizon
  ``trainer.estimated_stepping_batches`` (optimizer steps, after gradient accumulation, over all epochs).
* ``AutoLRCallback()``: trains with ``tuneless.auto.AutoLR``, no learning rate to tune (``configure_optimizers``
  returns the optimizer alone). By default (``method="mechanic"``, ``tuneless.torch.auto.one_run``'s) the callback
  puts that optimizer inside a short-run ``Mechanic`` at the fit's start, and the pilot seeds its scale;
  ``method="linear"`` runs at the fixed peak lr the pilot found. Pilot and run share
  ``trainer.estimated_stepping_batches`` (``AutoLR.within``); the callback steps the scheduler once per optimizer
  step in ``on_train_batch_end``, whose outputs hold the loss (a scheduler that Lightning stepped would come before
  the loss of the step's last micro-batch is known).

Refinement: Defazio, Cutkosky, Mehta, Mishchenko 2023, arXiv 2310.07831 (docs/refine.md).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

from ..extras import require
from ._recording import FinalGradients, recorder_at

require("lightning", "the 'lightning' integration (tuneless.integrations.lightning)")

import lightning.pytorch as pl  # noqa: E402

import torch  # noqa: E402

from ..auto.pilot import check_family  # noqa: E402
from ..schedules import Schedule, as_schedule  # noqa: E402
from ..torch import GradNormRecorder, ScheduleLR  # noqa: E402
from ..torch.auto import (  # noqa: E402
    AutoLR,
    check_one_run_method,
    one_run_schedule,
    optimizer_family,
    prepare_one_run,
)

__all__ = ["AutoLRCallback", "GradNormCallback", "lr_scheduler_config"]


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


def _horizon(trainer: pl.Trainer) -> int:
    total = trainer.estimated_stepping_batches
    if not math.isfinite(total) or total < 1:
        raise ValueError(
            f"trainer.estimated_stepping_batches={total!r}: a schedule needs a finite number of optimizer steps; "
            "set max_steps or max_epochs on the Trainer"
        )
    return int(total)


def lr_scheduler_config(optimizer: Any, schedule: Schedule | str, trainer: pl.Trainer) -> dict[str, Any]:
    """``{"scheduler": ScheduleLR(optimizer, schedule, T), "interval": "step", "frequency": 1}`` with
    ``T = trainer.estimated_stepping_batches``; return it as ``"lr_scheduler"`` from ``configure_optimizers``
    (where ``self.trainer`` is the trainer)."""
    return {"scheduler": ScheduleLR(optimizer, schedule, _horizon(trainer)), "interval": "step", "frequency": 1}


class AutoLRCallback(pl.Callback):
    """Trains with ``tuneless.auto.AutoLR``: a pilot, then the run (``method``: as ``tuneless.torch.auto.one_run``).

    With ``method="mechanic"`` (the default) the optimizer ``configure_optimizers`` returned goes inside
    ``short_run_mechanic`` when the fit starts (a ``Mechanic`` returned stays as it is, with its own options): the
    pilot seeds its scale, which freezes after a quarter of the run; checkpoints hold the Mechanic's state, and a
    resumed fit wraps the optimizer again before Lightning restores it. ``method="linear"``: the run at the fixed peak
    lr the pilot found.

    The pilot is the first steps of ``trainer.estimated_stepping_batches`` (``AutoLR.within``: 10% of the run, at
    least 10), the run the rest: the fit runs the steps it was asked for. ``configure_optimizers`` returns one
    optimizer and no scheduler; its lrs only relate the param groups to each other. The pilot's loss of an
    optimizer step is the mean of its micro-batches' losses (``training_step``'s, from ``on_train_batch_end``'s
    outputs), averaged over the processes. The scheduler's state (during the pilot, with its snapshot of the
    weights) is the callback's state in every checkpoint, so a resumed fit continues it exactly. Automatic
    optimization only.

    Args:
        family: ``"sgd"`` or ``"adam"`` (default: from the optimizer's class: SGD ``"sgd"``, AdamW ``"adam"``).
        schedule: the run's shape after the pilot (default ``one_run_schedule(method)``: 5% warmup, then linear decay
            to zero; with ``"schedulefree"`` constant).
        method: ``"mechanic"`` (default; the benchmark's ``auto-mechanic``), ``"linear"`` (the fixed peak;
            ``auto``) or ``"schedulefree"`` (a schedule-free optimizer; warmup, then constant).
    """

    def __init__(
        self, family: str | None = None, schedule: Schedule | str | None = None, method: str = "mechanic"
    ) -> None:
        self.family = None if family is None else check_family(family)
        self.method = check_one_run_method(method)
        self.schedule = as_schedule(one_run_schedule(self.method) if schedule is None else schedule)
        self.scheduler: AutoLR | None = None
        self._loaded: Mapping[str, Any] | None = None  # a checkpoint's state, for the scheduler built at train start
        self._window: list[torch.Tensor] = []  # the pilot's losses of the optimizer step now accumulating

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Checks the fit; with ``method="mechanic"`` puts the optimizer inside a Mechanic (before Lightning restores a
        checkpoint's optimizer state, so the state is the Mechanic's)."""
        if not pl_module.automatic_optimization:
            raise ValueError("AutoLRCallback needs automatic optimization (it reads the loss Lightning steps with)")
        if len(trainer.optimizers) != 1 or trainer.lr_scheduler_configs:
            raise ValueError(
                f"AutoLRCallback sets the lr itself: configure_optimizers must return one optimizer and no scheduler "
                f"(got {len(trainer.optimizers)} optimizers, {len(trainer.lr_scheduler_configs)} schedulers)"
            )
        saved = None if not self._loaded else self._loaded.get("method", "linear")  # (older states: no method)
        if saved not in (None, self.method):
            raise ValueError(
                f"AutoLRCallback: the checkpoint's fit ran method={saved!r}, this callback has method={self.method!r}: "
                "resume it as it was built (before tuneless 2026-12-06, AutoLRCallback() was method='linear')"
            )
        optimizer = trainer.optimizers[0]
        _, run = AutoLR.split(_horizon(trainer), self.family or optimizer_family(optimizer))
        optimizer, wrapped = prepare_one_run(optimizer, self.method, run)  # (the freeze: a checkpoint's too)
        if wrapped:
            trainer.strategy.optimizers = [optimizer]

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        optimizer = trainer.optimizers[0]
        family = self.family or optimizer_family(optimizer)
        self.scheduler = AutoLR.within(
            optimizer, _horizon(trainer), family, schedule=self.schedule, model=pl_module, method=self.method
        )
        loaded = bool(self._loaded)
        if loaded:
            self.scheduler.load_state_dict(self._loaded)
        self._loaded, self._window = None, []
        if not loaded and trainer.global_step > 0:
            raise ValueError(
                f"AutoLRCallback: this fit starts at step {trainer.global_step} without a checkpoint of AutoLR (a "
                "trainer fitted before?); AutoLR plans one fit from step 0: use a new Trainer, or resume a checkpoint"
            )
        if self.scheduler.last_epoch != trainer.global_step:
            raise ValueError(
                f"AutoLRCallback: the checkpoint's AutoLR is at step {self.scheduler.last_epoch}, the fit at step "
                f"{trainer.global_step}; save checkpoints after the callback has stepped (ModelCheckpoint does)"
            )

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        scheduler = self.scheduler
        if scheduler is None:
            return
        if scheduler.in_pilot and outputs is not None:
            self._window.append(outputs["loss"] if isinstance(outputs, Mapping) else outputs)
        if trainer.global_step == scheduler.last_epoch:  # no optimizer step yet: accumulating
            return
        if not scheduler.in_pilot:
            scheduler.step()
            return
        if not self._window:
            raise ValueError("AutoLRCallback: the pilot needs the loss; training_step returned none this step")
        # each micro-batch's loss was divided by accumulate_grad_batches for backward: undo it, and average
        loss = torch.stack([x.detach().float() for x in self._window]).mean() * trainer.accumulate_grad_batches
        self._window = []
        scheduler.step(trainer.strategy.reduce(loss, reduce_op="mean"))

    def state_dict(self) -> dict[str, Any]:
        return {} if self.scheduler is None else self.scheduler.state_dict()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._loaded = state_dict
