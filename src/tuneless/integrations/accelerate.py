"""accelerate: record the gradient norms of a hand-written loop before ``accelerator.clip_grad_norm_`` clips them.

``accelerator.clip_grad_norm_`` first unscales the gradients (fp16 mixed precision) and then clips them in place,
after which ``GradNormRecorder``'s optimizer step pre-hook would see the clipped gradients. ``record_before_clipping``
records at the end of ``accelerator.unscale_gradients`` instead: accumulated, unscaled, not yet clipped. Call
``clip_grad_norm_`` once per optimizer step (under ``if accelerator.sync_gradients:``; ``max_norm=float("inf")`` if
you do not clip). A loop that never clips needs only ``GradNormRecorder(optimizer, path)``.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from ..extras import require
from ._recording import FinalGradients, recorder_at

require("accelerate", "the 'accelerate' integration (tuneless.integrations.accelerate)")

from ..torch import GradNormRecorder  # noqa: E402

__all__ = ["record_before_clipping"]


def record_before_clipping(
    accelerator: Any,
    optimizer: Any,
    path: str | os.PathLike[str],
    flush_every: int = 100,
    *,
    start_step: int = 0,
) -> GradNormRecorder:
    """A ``GradNormRecorder`` writing one row per ``accelerator.clip_grad_norm_`` (or ``unscale_gradients``) call,
    with the gradients as they are after unscaling and before clipping. Rows from ``start_step`` on, left in ``path``
    by an interrupted run, are dropped (pass the resumed step). Close it (or use ``with``) when training ends.

    Under DistributedDataParallel only the main process writes (the gradients are averaged across processes by the
    time ``clip_grad_norm_`` runs, so each process has the same norm); FSDP and DeepSpeed clip elsewhere and are not
    supported here (use ``GradNormRecorder(optimizer, path, sharded=True)``)."""
    return recording_in_unscale(accelerator, optimizer, path, flush_every, start_step)[1]


def recording_in_unscale(
    accelerator: Any, optimizer: Any, path: str | os.PathLike[str], flush_every: int, start_step: int
) -> tuple[FinalGradients, GradNormRecorder]:
    """``record_before_clipping``, also returning the ``FinalGradients`` whose ``ready()`` records a step."""
    gradients, recorder = recorder_at(optimizer, path, flush_every, start_step)
    unscale = accelerator.unscale_gradients

    @functools.wraps(unscale)
    def unscale_then_record(*args: Any, **kwargs: Any) -> Any:
        result = unscale(*args, **kwargs)
        gradients.ready()  # a closed recorder has removed its hook: nothing happens
        return result

    accelerator.unscale_gradients = unscale_then_record
    return gradients, recorder
