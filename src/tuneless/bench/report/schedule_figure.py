"""The schedules figure of a benchmark report: the learning-rate multipliers the methods used, against training
progress."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..score.scoring import RunScores
from .figures import LINESTYLES

__all__ = ["plot_schedules"]


def _resolve_schedule_path(text: str, store_path: Path) -> Path | None:
    """A refined schedule is stored as a JSON path: as written, or relative to the store's folder."""
    for candidate in (Path(text), store_path.parent / text):
        if candidate.is_file():
            return candidate
    return None


def plot_schedules(
    scored: RunScores, colors: Mapping[str, Any], store_path: Path, path: Path
) -> tuple[Path | None, list[str]]:
    """The learning-rate multiplier against training progress. Top: each method's schedule spec, one line each.
    Bottom: schedules read from JSON files (refined: one per workload, the chosen trial of the first seed), per
    method the median over workloads in bold and each workload's schedule as a thin line. Returns the figure
    path (``None`` when there is nothing to draw) and notes about schedule files that could not be read."""
    from ...plotting import pyplot, save

    specs, files, notes = _schedules_used(scored, store_path)
    if not specs and not files:
        return None, notes
    progress = np.linspace(0.0, 1.0, 1001)
    plt = pyplot()
    rows = int(bool(specs)) + int(bool(files))
    fig, axes = plt.subplots(rows, 1, figsize=(11, 4.2 * rows), squeeze=False, layout="constrained")
    axes = list(axes[:, 0])
    if specs:
        ax = axes.pop(0)
        for i, (text, (methods, schedule, budget)) in enumerate(specs.items()):
            label = f"{', '.join(methods)}: {text}"
            label = label if len(label) <= 70 else label[:67] + "..."
            style = {"color": colors[methods[0]], "ls": LINESTYLES[i % len(LINESTYLES)], "lw": 1.8}
            ax.plot(progress, _on_progress(schedule, budget, progress), label=label, **style)
        _schedule_axes(ax, "Schedules given by a spec (the same on every workload)")
    if files:
        from matplotlib.patheffects import Normal, Stroke

        ax = axes.pop(0)
        outline = [Stroke(linewidth=4.2, foreground="black"), Normal()]
        for method, schedules in files.items():
            curves = np.array([_on_progress(schedule, budget, progress) for _, schedule, budget in schedules])
            for curve in curves:
                ax.plot(progress, curve, color="0.55", lw=0.7, alpha=0.6)
            label = f"{method}: median over {len(curves)} workload(s) (grey: each workload)"
            ax.plot(
                progress, np.median(curves, axis=0), color=colors[method], lw=2.6, label=label, path_effects=outline
            )
        _schedule_axes(ax, "Schedules read from files (refined: one per workload, the first seed's chosen trial)")
    return save(fig, path), notes


def _schedules_used(
    scored: RunScores, store_path: Path
) -> tuple[dict[str, tuple[list[str], Any, int]], dict[str, list[tuple[str, Any, int]]], list[str]]:
    """The schedules of each method's chosen trials (first seed): specs as text -> (methods, schedule, budget)
    (methods that share a spec share a line); schedule files per method as (workload, schedule, budget); notes on
    the ones that could not be read."""
    from ...schedules import load_schedule

    specs: dict[str, tuple[list[str], Any, int]] = {}
    files: dict[str, list[tuple[str, Any, int]]] = {}
    seen: set[tuple[str, str]] = set()
    notes: list[str] = []
    for workload in scored.workloads:
        budget = scored.workload_info[workload]["budget_steps"] or 1000
        for method, result in scored.results[workload].items():
            text = next(iter(result.chosen.values())).schedule
            if not text or (method, text) in seen:
                continue
            seen.add((method, text))
            from_file = text.endswith(".json")
            source = _resolve_schedule_path(text, store_path) if from_file else text
            if source is None:
                notes.append(f"{method} on {workload}: schedule file {text} not found")
                continue
            try:
                schedule = load_schedule(source)
            except ValueError as err:
                notes.append(f"{method} on {workload}: schedule {text!r} could not be read ({err})")
                continue
            if from_file:
                files.setdefault(method, []).append((workload, schedule, budget))
            else:
                specs.setdefault(text, ([], schedule, budget))[0].append(method)
    return specs, files, notes


def _on_progress(schedule: Any, budget: int, progress: np.ndarray) -> np.ndarray:
    """The schedule's multiplier at each fraction of its budget, linear between whole steps (so that schedules of
    different budgets share one axis)."""
    steps = np.arange(budget + 1)
    return np.interp(progress, steps / budget, np.asarray(schedule(steps, budget), dtype=float))


def _schedule_axes(ax: Any, title: str) -> None:
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("training progress (step / step budget)")
    ax.set_ylabel("multiplier of the peak lr")
    ax.set_xlim(0, 1)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
