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


def check_figure_path(path: str | Path, option: str, inputs: Sequence[tuple[str, Any]] = ()) -> Path:
    """Before any work: ``path`` can be written as a figure (a writable file path, not an input, with a suffix
    matplotlib can write, e.g. .png, .pdf, .svg)."""
    from .output_files import check_output_file

    out = check_output_file(path, option, inputs)
    formats = pyplot().figure().canvas.get_supported_filetypes()
    pyplot().close("all")
    suffix = out.suffix.lower().lstrip(".")
    if suffix not in formats:
        raise ValueError(
            f"{option} {str(path)!r}: {'no file suffix' if not suffix else f'unknown figure format {suffix!r}'}; "
            f"use one of {', '.join('.' + f for f in sorted(formats))}"
        )
    return out


def save(fig: Any, path: str | Path) -> Path:
    """Saves ``fig`` atomically (a temporary file renamed over ``path``: a failure leaves no file behind)."""
    from .output_files import atomic_path

    path = Path(path)
    try:
        with atomic_path(path) as temporary:
            fig.savefig(temporary, dpi=130, bbox_inches="tight", format=path.suffix.lstrip(".").lower() or None)
    finally:
        pyplot().close(fig)
    return path


def plot_schedules(
    schedules: Sequence[Any],
    total_steps: int,
    path: str | Path,
    title: str | None = None,
    labels: Sequence[str] | None = None,
) -> Path:
    """One figure, one line per schedule: multiplier of the peak lr against the step. ``labels``: the legend's
    names (default: each schedule's spec)."""
    import numpy as np

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    steps = np.arange(total_steps + 1)
    for i, schedule in enumerate(schedules):
        label = labels[i] if labels is not None else schedule.spec
        label = label if len(label) <= 60 else label[:57] + "..."
        ax.plot(steps, schedule.values(total_steps, endpoint=True), label=label, lw=1.8)
    ax.set_xlabel("step")
    ax.set_ylabel("learning-rate multiplier (x peak lr)")
    ax.set_title(title or f"Learning-rate schedules over {total_steps} steps")
    ax.set_xlim(0, total_steps)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return save(fig, path)
