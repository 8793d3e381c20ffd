"""Hugging Face ``Trainer``: record the gradient norms into a trace, and train with any tuneless schedule.

* ``GradNormCallback("trace.csv", trainer=trainer)``: one row per optimizer step, with the gradient after
  accumulation and after unscaling, before Trainer clips it to ``max_grad_norm`` (recorded inside
  ``accelerator.clip_grad_norm_``, which Trainer calls once per optimizer step, with ``max_norm=inf`` when it does
  not clip). Row ``t`` is Trainer's
  ``global_step`` t. The trace is flushed whenever Trainer saves a checkpoint, and a run resumed from a checkpoint
  appends to the same file from the checkpoint's step (rows an interrupted run wrote past it are dropped).
* ``TunelessTrainer(..., schedule="linear", trace="trace.csv")``: a ``Trainer`` whose ``create_scheduler`` builds
  ``ScheduleLR(optimizer, schedule, num_training_steps)`` with Trainer's own ``num_training_steps`` (from
  ``max_steps``, or epochs x update steps per epoch), so the lr of optimizer step ``t`` is
  ``schedule(t, T) * learning_rate``. The scheduler's state is saved in every checkpoint and restored on resume.
* ``TunelessTrainer(..., auto=True)``: ``tuneless.auto.AutoLR`` instead, no learning rate to tune: a pilot, then
  the run. By default (``auto=True`` is ``auto="mechanic"``, ``tuneless.torch.auto.one_run``'s default) Trainer's
  optimizer goes inside a short-run ``Mechanic`` whose scale the pilot seeds; ``auto="linear"`` runs at the fixed
  peak lr the pilot found. Pilot and run share Trainer's ``num_training_steps`` (``AutoLR.within``):
  Trainer runs exactly the steps it was asked for, the first ~9% of them the pilot. The family comes from the
  optimizer's class (AdamW: ``"adam"``, SGD: ``"sgd"``) unless ``family=`` names it; the pilot's per-step loss is
  the sum of ``training_step``'s returns over the accumulated micro-batches (each scaled for the accumulation, so
  the sum is their mean: the loss Trainer logs), handed to the scheduler before Trainer steps it.

Refinement: Defazio, Cutkosky, Mehta, Mishchenko 2023, arXiv 2310.07831 (docs/refine.md).
"""

from __future__ import annotations

import os
from typing import Any

from ..extras import require

require("transformers", "the 'transformers' integration (tuneless.integrations.transformers)")

try:
    from transformers import Trainer, TrainerCallback
except (ImportError, RuntimeError) as _error:  # a torchvision built for another torch breaks Trainer's import
    from ._torchvision import torchvision_problem

    _problem = torchvision_problem()
    if _problem is None:
        raise
    raise ImportError(
        f"tuneless.integrations.transformers: transformers' Trainer cannot be imported: {_problem}"
    ) from None

from ..auto.pilot import check_family  # noqa: E402
from ..schedules import Schedule, as_schedule  # noqa: E402
from ..torch import GradNormRecorder, ScheduleLR  # noqa: E402
from ..torch.auto import (  # noqa: E402
    MECHANIC_SHORT_RUN,
    AutoLR,
    check_one_run_method,
    one_run_schedule,
    optimizer_family,
    prepare_one_run,
)
from ._recording import FinalGradients  # noqa: E402
from .accelerate import recording_in_unscale  # noqa: E402

__all__ = ["GradNormCallback", "TunelessTrainer"]


class GradNormCallback(TrainerCallback):
    """Records ``grad_l2``, ``grad_l1`` and the lrs of every optimizer step of ``trainer`` into ``path``.

    Example::

        trainer = Trainer(model=model, args=args, train_dataset=data)
        trainer.add_callback(GradNormCallback("trace.csv", trainer=trainer))
        trainer.train()

    Args (the Lightning ``GradNormCallback``'s, and the trainer):
        path: the trace file (created, or appended to by a resumed run; the recorder's rule for an existing trace).
        flush_every: optimizer steps between writes to the file (also written at every checkpoint and at the end).
        trainer: the ``Trainer`` whose accelerator does the unscaling and clipping (a Trainer callback is not given
            its trainer, and the gradients are recorded inside the accelerator's clipping).
    """

    def __init__(self, path: str | os.PathLike[str], flush_every: int = 100, *, trainer: Trainer) -> None:
        if isinstance(path, Trainer) or not isinstance(trainer, Trainer):
            raise ValueError(
                "GradNormCallback(path, flush_every=100, *, trainer=trainer): pass the Trainer as trainer="
            )
        if not isinstance(flush_every, int) or flush_every < 1:
            raise ValueError(f"flush_every={flush_every!r} must be an integer >= 1")
        self.trainer = trainer
        self.path = path
        self.flush_every = flush_every
        self.recorder: GradNormRecorder | None = None
        self._gradients: FinalGradients | None = None
        self._rows_before_step = 0

    def on_train_begin(self, args: Any, state: Any, control: Any, optimizer: Any = None, **kwargs: Any) -> None:
        if self.recorder is not None:
            self.recorder.close()
        # state.global_step is the checkpoint's step when resuming, 0 otherwise.
        self._gradients, self.recorder = recording_in_unscale(
            self.trainer.accelerator, optimizer, self.path, self.flush_every, state.global_step
        )

    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.recorder is not None:
            self._rows_before_step = self.recorder.steps_recorded

    def on_pre_optimizer_step(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        # A Trainer that did not call accelerator.clip_grad_norm_ this step (older versions do not when
        # max_grad_norm=0) did not clip either: the gradients are still the ones to record.
        if self.recorder is not None and self.recorder.steps_recorded == self._rows_before_step:
            self._gradients.ready()

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if control.should_save and self.recorder is not None:
            self.recorder.flush()  # before the checkpoint is written: a resume never finds a step missing

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.recorder is not None:
            self.recorder.flush()

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.recorder is not None:
            self.recorder.close()


class TunelessTrainer(Trainer):
    """A ``Trainer`` whose learning rate follows a tuneless schedule, optionally recording a trace.

    ``TrainingArguments.learning_rate`` is the peak lr; the schedule gives its shape over Trainer's own number of
    optimizer steps. Put a warmup into the schedule (``"warmup(linear,fraction=0.05)"``), not into
    ``warmup_steps``/``warmup_ratio``; a ``lr_scheduler_type`` other than the default (or ``lr_scheduler_kwargs``)
    is a ValueError, not silently ignored.

    With ``auto=True`` (``"mechanic"``) Trainer's optimizer (its own AdamW, or the one given) goes inside
    ``short_run_mechanic`` (a ``Mechanic`` given stays as it is, with its own options): the pilot seeds its scale and
    the scale freezes after a quarter of the run (``tuneless.torch.auto.one_run``). With ``auto="linear"`` the peak
    lr is ``AutoLR``'s calibrated fraction of the pilot's lrs. Either way the lr is not ``learning_rate`` but what
    ``AutoLR``'s pilot measured: the first steps
    of Trainer's ``num_training_steps`` are the pilot (``AutoLR.within``: 10% of the run, at least 10), the rest the
    run; ``learning_rate`` and the optimizer's lrs only relate the param groups to each other. Evaluations and
    checkpoints during the pilot see the pilot's weights; after it the weights and the optimizer state are back to
    where they started, and a checkpoint saved during the pilot resumes it exactly.

    Args:
        schedule: a ``Schedule``, a spec string (``"linear"``, ``"wsd(cooldown=0.2)"``) or a schedule JSON path (a
            refined schedule from ``tuneless refine``). Default ``"linear"``: linear decay to zero; with ``auto``,
            ``AutoLR``'s (5% warmup, then linear decay), the run's shape after the pilot.
        trace: when given, a ``GradNormCallback`` records into this file.
        flush_every: the callback's flush interval.
        auto: train with ``tuneless.auto.AutoLR`` (a pilot, then the run): ``True`` or ``"mechanic"`` (the
            default design, ``auto-mechanic`` in the benchmark), ``"linear"`` (the fixed peak, ``auto``), or
            ``"schedulefree"`` (a schedule-free optimizer given in ``optimizers=``; warmup, then constant).
        family: ``"sgd"`` or ``"adam"`` for ``auto`` (default: from the optimizer's class).
        *args, **kwargs: passed to ``Trainer``.
    """

    def __init__(
        self,
        *args: Any,
        schedule: Schedule | str | None = None,
        trace: str | os.PathLike[str] | None = None,
        flush_every: int = 100,
        auto: bool | str = False,
        family: str | None = None,
        **kwargs: Any,
    ) -> None:
        if family is not None and not auto:
            raise ValueError(f"family={family!r} is AutoLR's: pass auto=True with it")
        # AutoLR's method, or None: no AutoLR
        method = "mechanic" if auto is True else auto
        self.auto = None if auto in (False, None) else check_one_run_method(method, "auto")
        self._own_mechanic = False  # True once create_optimizer has put the optimizer inside a Mechanic
        self.family = None if family is None else check_family(family)
        self._window_loss: Any = None  # the pilot's loss of the optimizer step now accumulating
        super().__init__(*args, **kwargs)
        if self.auto and self.lr_scheduler is not None:
            raise ValueError(
                f"auto={auto!r} sets the lr itself: pass optimizers=(optimizer, None), not a scheduler beside it"
            )
        self.schedule = as_schedule(
            schedule if schedule is not None else one_run_schedule(self.auto) if self.auto else "linear"
        )
        warmup = {name: getattr(self.args, name, 0) for name in ("warmup_steps", "warmup_ratio")}
        if any(warmup.values()):
            raise ValueError(
                f"{', '.join(f'{k}={v!r}' for k, v in warmup.items() if v)}: TunelessTrainer takes its warmup from "
                "the schedule (e.g. schedule='warmup(linear,fraction=0.05)'); leave the TrainingArguments warmup at 0"
            )
        kind = getattr(self.args.lr_scheduler_type, "value", self.args.lr_scheduler_type)
        if kind != "linear" or getattr(self.args, "lr_scheduler_kwargs", None):
            raise ValueError(
                f"lr_scheduler_type={kind!r}, lr_scheduler_kwargs={self.args.lr_scheduler_kwargs!r}: TunelessTrainer "
                "takes its schedule from schedule= (e.g. schedule='cosine'); leave the TrainingArguments scheduler at "
                "its default"
            )
        if trace is not None:
            self.add_callback(GradNormCallback(trace, flush_every, trainer=self))

    def create_optimizer(self, *args: Any, **kwargs: Any) -> Any:
        """Trainer's; with ``auto="mechanic"`` the optimizer inside ``short_run_mechanic`` (once)."""
        optimizer = super().create_optimizer(*args, **kwargs)
        if self.auto:
            self.optimizer, wrapped = prepare_one_run(optimizer, self.auto)
            self._own_mechanic = self._own_mechanic or wrapped
        return self.optimizer

    def train(self, resume_from_checkpoint: str | bool | None = None, *args: Any, **kwargs: Any) -> Any:
        """Trainer's; with ``auto``, a checkpoint saved by a run of another ``auto`` is refused in one line (its
        optimizer state would not load)."""
        if self.auto and resume_from_checkpoint not in (None, False):
            self._check_checkpoint_method(resume_from_checkpoint)
        return super().train(resume_from_checkpoint, *args, **kwargs)

    def _check_checkpoint_method(self, checkpoint: str | bool) -> None:
        from transformers.trainer_utils import get_last_checkpoint

        import torch

        folder = get_last_checkpoint(self.args.output_dir) if checkpoint is True else str(checkpoint)
        path = os.path.join(folder or "", "scheduler.pt")
        if not os.path.isfile(path):
            return  # Trainer says what is missing
        state = torch.load(path, map_location="cpu", weights_only=True)
        saved = state.get("method", "linear") if "pilot_steps" in state else None  # (AutoLR's; older: no method)
        if saved != self.auto:
            built = "without auto" if saved is None else f"with auto={saved!r}"
            raise ValueError(
                f"{folder}: the checkpoint's run was built {built}, this trainer has auto={self.auto!r}: resume it "
                "as it was built (before tuneless 2026-12-06, auto=True was auto='linear')"
            )

    def create_scheduler(self, num_training_steps: int, optimizer: Any = None) -> ScheduleLR | AutoLR:
        if self.lr_scheduler is None:
            optimizer = optimizer or self.optimizer
            if self.auto:
                family = self.family or optimizer_family(optimizer)
                freeze = MECHANIC_SHORT_RUN["freeze_fraction"] if self._own_mechanic else None
                self.lr_scheduler = AutoLR.within(
                    optimizer,
                    num_training_steps,
                    family,
                    schedule=self.schedule,
                    model=self.model,
                    method=self.auto,
                    freeze_fraction=freeze,
                )
            else:
                self.lr_scheduler = ScheduleLR(optimizer, self.schedule, num_training_steps)
            self._created_lr_scheduler = True  # Trainer rebuilds it when a later train() call changes the horizon
        return self.lr_scheduler

    def training_step(self, *args: Any, **kwargs: Any) -> Any:
        """Trainer's, and during ``AutoLR``'s pilot the step's loss for the scheduler: the sum of the micro-batches'
        returned losses (scaled for accumulation by Trainer), handed over at the last micro-batch of the step."""
        loss = super().training_step(*args, **kwargs)
        scheduler = self.lr_scheduler
        if isinstance(scheduler, AutoLR) and scheduler.in_pilot:
            self._window_loss = loss if self._window_loss is None else self._window_loss + loss
            if self.accelerator.sync_gradients:  # the last micro-batch: Trainer steps the optimizer next
                window, self._window_loss = self._window_loss, None
                if self.accelerator.num_processes > 1:  # one cap for all ranks (not tested with several processes)
                    window = self.accelerator.reduce(window, reduction="mean")
                scheduler.set_step_loss(window)
        return loss
