"""Recording at the moment a framework's gradients are final: accumulated, unscaled, not yet clipped.

``GradNormRecorder`` records from an optimizer step pre-hook, which runs after the framework has clipped. Refinement
(Defazio, Cutkosky, Mehta, Mishchenko 2023, arXiv 2310.07831, section 3) wants the norm of the gradient itself, so
the integrations hand the recorder a ``FinalGradients`` in place of the optimizer: it has the optimizer's param groups
and takes the recorder's step pre-hook, and runs it when the framework says its gradients are ready (Lightning's
``on_before_optimizer_step``, accelerate's ``unscale_gradients`` inside ``clip_grad_norm_``).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from torch.utils.hooks import RemovableHandle

from ..torch import GradNormRecorder

__all__ = ["FinalGradients", "recorder_at"]


class FinalGradients:
    """Stands for ``optimizer`` in ``GradNormRecorder(FinalGradients(optimizer), path)``: the recorder's step
    pre-hook runs when ``ready()`` is called instead of at ``optimizer.step()``."""

    def __init__(self, optimizer: Any) -> None:
        self.optimizer = optimizer
        self._hooks: OrderedDict[int, Callable[..., None]] = OrderedDict()  # weakly referenced by the handles

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        return self.optimizer.param_groups

    def register_step_pre_hook(self, hook: Callable[..., None]) -> RemovableHandle:
        handle = RemovableHandle(self._hooks)
        self._hooks[handle.id] = hook
        return handle

    def ready(self) -> None:
        """The gradients are final for this optimizer step: record them."""
        for hook in list(self._hooks.values()):
            hook(self, (), {})


def recorder_at(
    optimizer: Any,
    path: str | os.PathLike[str],
    flush_every: int,
    start_step: int,
    *,
    sharded: bool = False,
) -> tuple[FinalGradients, GradNormRecorder]:
    """A recorder of ``optimizer``'s gradients whose first row is ``start_step`` (the recorder's rule: rows from
    there on, left by an interrupted run or an earlier one, are replaced at its first write), and the
    ``FinalGradients`` whose ``ready()`` records a step."""
    gradients = FinalGradients(optimizer)
    return gradients, GradNormRecorder(gradients, path, flush_every, sharded=sharded, start_step=start_step)  # type: ignore[arg-type]
