"""Loss curves to fit a law on: a per-step learning-rate array and logged ``(step, loss)`` pairs.

Step convention: ``lrs[t]`` is the learning rate of optimizer step ``t`` (0-based); the loss logged at step ``t``
is taken after the updates of steps ``0..t`` (so the forward area at ``t`` is ``sum_{tau<=t} lrs[tau]``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..schedules import Schedule, parse_schedule


@dataclass(frozen=True)
class Curve:
    """One training run: ``lrs`` per step (length = run length) and the logged ``steps`` and ``losses``."""

    lrs: np.ndarray
    steps: np.ndarray
    losses: np.ndarray
    name: str = field(default="curve")

    def __post_init__(self) -> None:
        lrs = np.asarray(self.lrs, dtype=float)
        steps = np.asarray(self.steps)
        losses = np.asarray(self.losses, dtype=float)
        name = self.name
        if lrs.ndim != 1 or lrs.size == 0:
            raise ValueError(f"{name}: lrs must be a non-empty 1-D array, got shape {lrs.shape}")
        if not np.all(np.isfinite(lrs)) or np.any(lrs < 0):
            raise ValueError(f"{name}: lrs must be finite and >= 0")
        if steps.shape != losses.shape or steps.ndim != 1:
            raise ValueError(
                f"{name}: steps and losses must be 1-D of equal length, got {steps.shape} and {losses.shape}"
            )
        if steps.size < 2:
            raise ValueError(f"{name}: needs at least 2 logged points, got {steps.size}")
        if not np.all(np.isfinite(losses)) or np.any(losses <= 0):
            bad = int(np.flatnonzero(~(np.isfinite(losses) & (losses > 0)))[0])
            step = f"{steps[bad]:g}" if np.isfinite(steps[bad]) else str(steps[bad])  # 55, not 55.0
            raise ValueError(f"{name}: loss at step {step} is {losses[bad]:g}; losses must be finite and > 0")
        if not np.all(steps == np.round(steps)) or np.any(steps < 0):
            raise ValueError(f"{name}: steps must be non-negative integers")
        steps = steps.astype(np.int64)
        diffs = np.diff(steps)
        if np.any(diffs <= 0):
            i = int(np.flatnonzero(diffs <= 0)[0])
            kind = "duplicated" if diffs[i] == 0 else "unsorted"
            raise ValueError(f"{name}: steps must be strictly increasing; {kind} step {steps[i + 1]} after {steps[i]}")
        if steps[-1] >= lrs.size:
            raise ValueError(
                f"{name}: schedule has {lrs.size} steps but the last logged step is {steps[-1]}; "
                f"the schedule must cover every logged step (length > {steps[-1]})"
            )
        if np.sum(lrs[: steps[0] + 1]) <= 0:
            raise ValueError(f"{name}: the learning-rate area up to the first logged step {steps[0]} is 0")
        object.__setattr__(self, "lrs", lrs)
        object.__setattr__(self, "steps", steps)
        object.__setattr__(self, "losses", losses)


def schedule_lrs(spec: str | Schedule, total_steps: int, peak_lr: float) -> np.ndarray:
    """Per-step learning rates ``peak_lr * m(t, T)`` for ``t = 0..T-1`` of a tuneless schedule (or its spec)."""
    if int(total_steps) != total_steps or total_steps < 1:
        raise ValueError(f"total steps must be a positive integer, got {total_steps}")
    if not (np.isfinite(peak_lr) and peak_lr > 0):
        raise ValueError(f"peak lr must be > 0, got {peak_lr}")
    schedule = spec if isinstance(spec, Schedule) else parse_schedule(spec)
    return float(peak_lr) * schedule.values(int(total_steps))


def read_loss_csv(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """``(steps, losses)`` from a CSV with a header holding ``step`` and ``loss`` (other columns are ignored)."""
    path = Path(path)
    if path.exists() and not path.is_file():
        raise ValueError(f"{path}: not a regular file (a folder, a device or a FIFO), not a CSV file")
    try:
        return _read_loss_csv(path)
    except (UnicodeDecodeError, csv.Error) as err:  # binary, UTF-16, NUL bytes
        raise ValueError(f"{path}: not a UTF-8 CSV file ({err})") from None


def _read_loss_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise ValueError(f"{path}: empty file; expected a header with 'step' and 'loss'")
        header = [h.strip() for h in header]
        for col in ("step", "loss"):
            if col not in header:
                raise ValueError(f"{path}: no '{col}' column in header {header}; expected 'step,loss'")
        i_step, i_loss = header.index("step"), header.index("loss")
        steps, losses = [], []
        for line, row in enumerate(reader, start=2):
            if not row:
                continue
            try:
                steps.append(float(row[i_step]))
                losses.append(float(row[i_loss]) if row[i_loss].strip() else float("nan"))
            except (ValueError, IndexError):
                raise ValueError(f"{path}, line {line}: cannot read step/loss from {row}") from None
    return np.asarray(steps), np.asarray(losses)


def load_curve(path: str | Path, lrs: np.ndarray, name: str | None = None) -> Curve:
    """A :class:`Curve` from a ``step,loss`` CSV and the run's per-step learning rates."""
    steps, losses = read_loss_csv(path)
    return Curve(lrs=lrs, steps=steps, losses=losses, name=name or str(path))
