"""Shared matplotlib helpers (matplotlib is optional: ``pip install tuneless[plot]``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .extras import require


def pyplot() -> Any:
    matplotlib = require("matplotlib", "plotting")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig: Any, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130, bbox_inches="tight")
    pyplot().close(fig)
    return path


def plot_schedules(schedules: Sequence[Any], total_steps: int, path: str | Path, title: str | None = None) -> Path:
    """One figure, one line per schedule: multiplier of the peak lr against the step."""
    import numpy as np

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    steps = np.arange(total_steps + 1)
    for schedule in schedules:
        label = schedule.spec if len(schedule.spec) <= 60 else schedule.spec[:57] + "..."
        ax.plot(steps, schedule.values(total_steps, endpoint=True), label=label, lw=1.8)
    ax.set_xlabel("step")
    ax.set_ylabel("learning-rate multiplier (x peak lr)")
    ax.set_title(title or f"Learning-rate schedules over {total_steps} steps")
    ax.set_xlim(0, total_steps)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return save(fig, path)
