"""A training run with checkpoints and a gradient-norm recorder, for the resume crash test.

``python -m tests.torch._resume_worker TRACE CHECKPOINT TOTAL DIE_AT`` trains ``TOTAL`` steps, saving a checkpoint
(model, optimizer, ``recorder.state_dict()``) every ``CHECKPOINT_EVERY`` steps, and dies with ``os._exit`` (no
cleanup, no flush: like ``kill -9``) just before step ``DIE_AT``; ``train(..., resume=True)`` continues from the
checkpoint.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch
from tuneless.torch.recorder import GradNormRecorder

CHECKPOINT_EVERY = 7  # not a multiple of FLUSH_EVERY: checkpoints fall inside flush windows
FLUSH_EVERY = 5


def batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The data of a step depends on the step only, so a resumed run sees what the uninterrupted one saw."""
    g = torch.Generator().manual_seed(1000 + step)
    return torch.randn(16, 6, generator=g), torch.randn(16, 1, generator=g)


def train(trace: str | Path, checkpoint: str | Path, total: int, die_at: int = -1, resume: bool = False) -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    recorder = GradNormRecorder(optimizer, trace, flush_every=FLUSH_EVERY)
    start = 0
    if resume:
        state = torch.load(checkpoint)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        recorder.load_state_dict(state["recorder"])
        start = state["step"]
    for step in range(start, total):
        if step == die_at:
            os._exit(9)
        if step > 0 and step % CHECKPOINT_EVERY == 0:
            state = {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "recorder": recorder.state_dict(),
                "step": step,
            }
            torch.save(state, f"{checkpoint}.tmp")
            os.replace(f"{checkpoint}.tmp", checkpoint)
        x, y = batch(step)
        loss = torch.nn.functional.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        recorder.log_loss(loss)
        optimizer.step()
        for group in optimizer.param_groups:
            group["lr"] = 1e-2 * (1 - (step + 1) / total)
    recorder.close()


if __name__ == "__main__":
    trace_path, checkpoint_path, total_steps, die = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    train(trace_path, checkpoint_path, total_steps, die_at=die)
