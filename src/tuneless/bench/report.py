"""The benchmark report: ``results.json``, an HTML page with tables and PNG figures, and a terminal summary table.

Reads only the store (``/work/bench_contract.md``); every number comes from :mod:`tuneless.bench.scoring`.
``write_report(store_path, run_id, out_dir)`` writes into ``out_dir``:

- ``results.json``: per workload and method the median steps and seconds to target (null when missed), the final
  metric's mean and std over seeds, the chosen peak lr, the trials per seed (and, for a method built on a prior
  run, the seconds including that run); per method the benchmark scores (time, steps) and trials per workload.
- ``report.html``: self-contained page (inline style; the PNGs are referenced by relative path).
- ``profile.png``: performance profiles (time and steps); ``final_metric.png``: final metric per workload;
  ``curves-<workload>.png``: evaluated metric and training loss against the step; ``schedules.png``: the
  learning-rate multipliers the methods used.
"""

from __future__ import annotations

import datetime
import html
import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..output_files import write_text_atomic
from .scoring import MEASURES, RunScores, performance_profile, score_trials

__all__ = ["load_run", "results_dict", "summary_table", "write_report"]


# --- reading --------------------------------------------------------------------------------------------------
def load_run(store_path: str | Path, run_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The run's row (``config`` parsed) and its trial rows, read from the SQLite store."""
    from .store import Store

    if not Path(store_path).is_file():
        raise ValueError(f"store {str(store_path)!r}: no such file")
    with Store(store_path) as store:
        return store.run(run_id), store.trials(run_id)


def _measurements(store_path: str | Path, trial_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    from .store import Store

    with Store(store_path) as store:
        return {trial_id: store.measurements(trial_id) for trial_id in trial_ids}


# --- results.json ---------------------------------------------------------------------------------------------
def _finite_or_none(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def results_dict(run: Mapping[str, Any], scored: RunScores) -> dict[str, Any]:
    """The content of ``results.json`` (the contract's layout; a miss or a missing value is ``null``)."""
    workloads: dict[str, Any] = {}
    for workload in scored.workloads:
        info = scored.workload_info[workload]
        methods = {}
        for method, result in scored.results[workload].items():
            entry = {
                "steps_to_target": _finite_or_none(result.steps_to_target),
                "seconds_to_target": _finite_or_none(result.seconds_to_target),
                "final_metric_mean": result.final_metric_mean,
                "final_metric_std": result.final_metric_std,
                "peak_lr": result.peak_lr,
                "trials": result.trials,
            }
            if result.seconds_with_prior is not None:
                entry["total_seconds_with_prior"] = _finite_or_none(result.seconds_with_prior)
            methods[method] = entry
        workloads[workload] = {
            "metric": info["metric_name"],
            "higher_is_better": bool(info["higher_is_better"]),
            "target": info["target"],
            "methods": methods,
        }
    scores = {
        method: {
            "time": scored.scores["seconds"][method],
            "steps": scored.scores["steps"][method],
            "trials_per_workload": scored.trials_per_workload[method],
        }
        for method in scored.methods
    }
    return {
        "run_id": run["run_id"],
        "suite": run["suite"],
        "created": run["created"],
        "workloads": workloads,
        "scores": scores,
    }


# --- formatting -----------------------------------------------------------------------------------------------
def _fmt(value: float | None, digits: int = 4) -> str:
    if value is None:
        return "–"
    if math.isinf(value):
        return "missed"
    return f"{value:.{digits}g}"


def _fmt_mean_std(mean: float | None, std: float | None, digits: int = 4) -> str:
    if mean is None:
        return "–"
    return _fmt(mean, digits) if std is None else f"{_fmt(mean, digits)} ± {_fmt(std, 2)}"


def _direction(higher_is_better: Any) -> str:
    return "higher is better" if higher_is_better else "lower is better"


def _best_methods(values: Mapping[str, float | None], higher_is_better: bool) -> set[str]:
    """The methods with the best value (several on a tie); none when no value is finite."""
    finite = {m: v for m, v in values.items() if v is not None and math.isfinite(v)}
    if not finite:
        return set()
    best = max(finite.values()) if higher_is_better else min(finite.values())
    return {m for m, v in finite.items() if v == best}


def _best_scores(scores: Mapping[str, float]) -> set[str]:
    """The methods with the highest benchmark score, none when every score is 0 (nobody reached a target)."""
    return _best_methods({m: score for m, score in scores.items() if score > 0}, True)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _method_descriptions(methods: Sequence[str]) -> dict[str, str]:
    from .methods import METHODS

    return {m: METHODS[m].description if m in METHODS else "" for m in methods}


# --- terminal -------------------------------------------------------------------------------------------------
def summary_table(store_path: str | Path, run_id: str) -> Any:
    """A ``rich.table.Table`` that fits a terminal whatever the number of workloads: per method the benchmark
    scores (time, steps), trials per workload, on how many workloads it reached the target, and on how many its
    final metric was the best (ties count for each); the best score in bold green. Per-workload numbers are in
    the HTML report and results.json."""
    run, trials = load_run(store_path, run_id)
    return _summary_table(run, score_trials(trials))


def _summary_table(run: Mapping[str, Any], scored: RunScores) -> Any:
    from rich.markup import escape
    from rich.table import Table

    n = len(scored.workloads)
    table = Table(
        title=f"tuneless bench: run {run['run_id']} (suite {run['suite']}, {n} workloads)",
        caption="score: AlgoPerf benchmark score in [0, 1] from time (or steps) to target, 1 = fastest on every "
        f"workload, 0 = missed or over {scored.r_max:g}x slower everywhere. best final: workloads where the "
        "method's final metric (mean over seeds of its best trial) is the best. Details: report.html.",
    )
    table.add_column("method", style="bold", no_wrap=True)
    table.add_column("score (time)", justify="right")
    table.add_column("score (steps)", justify="right")
    table.add_column("trials / workload", justify="right")
    table.add_column("targets reached", justify="right")
    table.add_column("best final", justify="right")
    best_time = _best_scores(scored.scores["seconds"])
    best_steps = _best_scores(scored.scores["steps"])
    best_final = {
        w: _best_methods(
            {m: r.final_metric_mean for m, r in scored.results[w].items()},
            bool(scored.workload_info[w]["higher_is_better"]),
        )
        for w in scored.workloads
    }

    def cell(text: str, best: bool) -> str:
        return f"[bold green]{text}[/]" if best else text

    for method in scored.methods:
        reached = sum(
            1
            for w in scored.workloads
            if method in scored.results[w] and math.isfinite(scored.results[w][method].steps_to_target)
        )
        table.add_row(
            escape(method),
            cell(f"{scored.scores['seconds'][method]:.3f}", method in best_time),
            cell(f"{scored.scores['steps'][method]:.3f}", method in best_steps),
            f"{scored.trials_per_workload[method]:g}",
            f"{reached}/{n}",
            f"{sum(method in best_final[w] for w in scored.workloads)}/{n}",
        )
    return table


# --- figures --------------------------------------------------------------------------------------------------
def _colors(methods: Sequence[str]) -> dict[str, Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if len(methods) <= 10 else "tab20"]
    return {m: cmap(i % cmap.N) for i, m in enumerate(methods)}


LINESTYLES = ("-", "--", "-.", ":")


def _spans_decades(values: Sequence[float]) -> bool:
    """Log scale when all values are positive and the largest is more than 10x the smallest."""
    values = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    return values.size > 1 and bool(np.all(values > 0)) and values.max() > 10 * values.min()


def _plot_profiles(scored: RunScores, colors: Mapping[str, Any], path: Path) -> Path:
    from ..plotting import pyplot, save

    plt = pyplot()
    taus = np.linspace(1.0, scored.r_max, 1201)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6), sharey=True)
    for ax, measure in zip(axes, ("seconds", "steps"), strict=True):
        profile = performance_profile(scored.ratios[measure], taus)
        n = len(scored.methods)
        lines = {}
        for i, method in enumerate(scored.methods):
            # earlier methods drawn wider, so that identical profiles stay visible under the later ones
            (lines[method],) = ax.plot(
                taus,
                profile[method],
                color=colors[method],
                lw=1.5 + 2.0 * (n - 1 - i) / max(n - 1, 1),
                alpha=0.85,
                label=f"{method} (score {scored.scores[measure][method]:.2f})",
            )
        ranked = sorted(scored.methods, key=lambda m: -scored.scores[measure][m])  # legend: best score first
        ax.legend(
            [lines[m] for m in ranked],
            [lines[m].get_label() for m in ranked],
            fontsize=8,
            loc="upper left",
            bbox_to_anchor=(0.0, -0.16),
            ncol=2,
            frameon=False,
        )
        unit = "training seconds" if measure == "seconds" else "optimizer steps"
        ax.set_title(f"Time to target in {unit}")
        ax.set_xlabel("performance ratio τ (method's time / fastest method's time)")
        ax.set_xlim(1.0, scored.r_max)
        ax.set_ylim(-0.02, 1.05)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("fraction of workloads within τ of the fastest")
    fig.suptitle(f"Performance profiles over {len(scored.workloads)} workloads (higher and further left is better)")
    return save(fig, path)


def _plot_final_metrics(scored: RunScores, colors: Mapping[str, Any], path: Path) -> Path:
    from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

    from ..plotting import pyplot, save

    plt = pyplot()
    n = len(scored.workloads)
    cols = min(3, n)
    rows = math.ceil(n / cols)
    height = 0.32 * len(scored.methods) + 1.4
    # constrained layout keeps the figure title clear of the first row's titles (tight_layout does not).
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, height * rows), squeeze=False, layout="constrained")
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    for ax, workload in zip(axes.flat, scored.workloads, strict=False):
        info = scored.workload_info[workload]
        results = scored.results[workload]
        methods = [m for m in scored.methods if m in results]
        best = _best_methods({m: results[m].final_metric_mean for m in methods}, bool(info["higher_is_better"]))
        means = [results[m].final_metric_mean for m in methods]
        for y, method in enumerate(methods):
            mean, std = results[method].final_metric_mean, results[method].final_metric_std
            if mean is None:
                ax.text(0.02, y, "all trials failed", va="center", transform=ax.get_yaxis_transform(), fontsize=8)
                continue
            ax.errorbar(
                mean,
                y,
                xerr=std or 0.0,
                fmt="o",
                color=colors[method],
                capsize=4,
                ms=7,
                mec="black" if method in best else colors[method],
                mew=1.5,
            )
        if info["target"] is not None:
            ax.axvline(info["target"], color="gray", ls="--", lw=1)
        if _spans_decades([*means, info["target"]]):
            ax.set_xscale("log")
            low, high = ax.get_xlim()  # error bars can widen the axis well beyond the means
            decades = math.log10(high / low)
            # 1-2-5 ticks read well over two decades; over more they collide, so label only the powers of ten.
            ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0) if decades <= 2 else (1.0,)))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
            ax.xaxis.set_minor_formatter(NullFormatter())
        else:
            ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
        ax.tick_params(axis="x", labelsize=8)
        ax.set_yticks(range(len(methods)), methods, fontsize=8)
        ax.set_ylim(len(methods) - 0.5, -0.5)
        ax.set_xlabel(f"{info['metric_name']} at the budget ({_direction(info['higher_is_better'])})", fontsize=8)
        target = "" if info["target"] is None else f" (dashed line: target {info['target']:.4g})"
        ax.set_title(f"{workload}{target}", fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle("Metric at the budget: mean ± std over seeds of each method's best trial (black edge = best)")
    return save(fig, path)


def _plot_curves(
    workload: str,
    scored: RunScores,
    curves: Mapping[str, tuple[Mapping[str, Any], list[dict[str, Any]]]],
    colors: Mapping[str, Any],
    path: Path,
) -> Path:
    """Validation metric and mean training loss against the step, one line per method (its chosen trial)."""
    from ..plotting import pyplot, save

    plt = pyplot()
    info = scored.workload_info[workload]
    fig, (ax_metric, ax_loss) = plt.subplots(1, 2, figsize=(12, 4.4))
    metric_values: list[float] = []
    loss_values: list[float] = []
    for i, method in enumerate(scored.methods):
        if method not in curves:
            continue
        trial, rows = curves[method]
        lr = "" if trial["peak_lr"] is None else f", peak lr {trial['peak_lr']:.3g}"
        label = f"{method}{lr}" + ("" if trial["status"] == "done" else f" ({trial['status']})")
        style = {"color": colors[method], "ls": LINESTYLES[i % len(LINESTYLES)], "lw": 1.8}
        steps = [r["step"] for r in rows if r["metric"] is not None]
        metric = [r["metric"] for r in rows if r["metric"] is not None]
        ax_metric.plot(steps, metric, marker=".", ms=4, label=label, **style)
        metric_values += metric
        loss_rows = [r for r in rows if r["train_loss"] is not None and math.isfinite(r["train_loss"])]
        ax_loss.plot([r["step"] for r in loss_rows], [r["train_loss"] for r in loss_rows], **style)
        loss_values += [r["train_loss"] for r in loss_rows]
    if info["target"] is not None:
        ax_metric.axhline(info["target"], color="gray", ls="--", lw=1, label=f"target {info['target']:.4g}")
    for ax, values in ((ax_metric, [*metric_values, info["target"]]), (ax_loss, loss_values)):
        if _spans_decades(values):
            ax.set_yscale("log")
        ax.set_xlabel("optimizer step")
        ax.grid(alpha=0.3)
        if info["budget_steps"]:
            ax.set_xlim(0, info["budget_steps"])
    ax_metric.set_ylabel(f"{info['metric_name']} ({_direction(info['higher_is_better'])})")
    ax_metric.set_title(f"Evaluated metric: {info['metric_name']}")
    ax_loss.set_ylabel("training loss (mean since previous evaluation)")
    ax_loss.set_title("Training loss")
    seed = min((s for r in scored.results[workload].values() for s in r.chosen), default=0)
    fig.suptitle(f"{workload}: each method's best trial (fewest steps to target), seed {seed}")
    handles, labels = ax_metric.get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        ncol=min(4, len(labels)),
        fontsize=8,
        frameon=False,
    )
    fig.tight_layout()
    return save(fig, path)


def _resolve_schedule_path(text: str, store_path: Path) -> Path | None:
    """A refined schedule is stored as a JSON path: as written, or relative to the store's folder."""
    for candidate in (Path(text), store_path.parent / text):
        if candidate.is_file():
            return candidate
    return None


def _plot_schedules(
    scored: RunScores, colors: Mapping[str, Any], store_path: Path, path: Path
) -> tuple[Path | None, list[str]]:
    """Left: each method's schedule spec (multiplier against progress); right: schedules read from JSON files
    (refined: one per workload, the chosen trial of the first seed). Returns the figure path (``None`` when there
    is nothing to draw) and notes about schedule files that could not be read."""
    from ..plotting import pyplot, save
    from ..schedules import load_schedule

    panels: tuple[list[tuple[str, Any, int, Any]], ...] = ([], [])  # (label, schedule, budget, color)
    seen: set[tuple[str, str]] = set()
    notes: list[str] = []
    for workload in scored.workloads:
        budget = scored.workload_info[workload]["budget_steps"] or 1000
        for method, result in scored.results[workload].items():
            text = next(iter(result.chosen.values()))["schedule"]
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
                panels[1].append((f"{method} on {workload}", schedule, budget, None))
            else:
                panels[0].append((f"{method}: {text}", schedule, budget, colors[method]))
    titles = ("Schedules given by a spec", "Schedules read from files (refined: one per workload)")
    used = [(title, lines) for title, lines in zip(titles, panels, strict=True) if lines]
    if not used:
        return None, notes

    plt = pyplot()
    fig, axes = plt.subplots(1, len(used), figsize=(6.5 * len(used), 4.6), squeeze=False)
    for ax, (title, lines) in zip(axes[0], used, strict=True):
        for i, (label, schedule, budget, color) in enumerate(lines):
            steps = np.arange(budget + 1)
            short = label if len(label) <= 70 else label[:67] + "..."
            ax.plot(
                steps / budget,
                schedule(steps, budget),
                color=color,
                ls=LINESTYLES[i % len(LINESTYLES)],
                lw=1.8,
                label=short,
            )
        ax.set_title(title)
        ax.set_xlabel("training progress (step / step budget)")
        ax.set_ylabel("learning-rate multiplier (x peak lr)")
        ax.set_xlim(0, 1)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(0.0, -0.2), frameon=False)
    fig.tight_layout()
    return save(fig, path), notes


# --- HTML -----------------------------------------------------------------------------------------------------
STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th { background: #f2f2f2; } td:first-child, th:first-child { text-align: left; }
td.best { font-weight: bold; background: #e3f5e1; }
td.text { text-align: left; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; }
p.note { color: #555; font-size: 0.92em; }
code { background: #f4f4f4; padding: 0 0.2em; }
"""


def _e(value: Any) -> str:
    return html.escape(str(value))


def _table(header: Sequence[str], rows: Sequence[Sequence[tuple[str, str]]]) -> str:
    """rows of (text, css class) cells; text is escaped here."""
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td class="{cls}">{_e(text)}</td>' for text, cls in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _scores_section(scored: RunScores, descriptions: Mapping[str, str], trials: list[dict[str, Any]]) -> str:
    best = {measure: _best_scores(scored.scores[measure]) for measure in MEASURES}
    rows = []
    for method in scored.methods:
        reached = sum(
            1
            for w in scored.workloads
            if method in scored.results[w] and math.isfinite(scored.results[w][method].steps_to_target)
        )
        rows.append(
            [
                (method, ""),
                (f"{scored.scores['seconds'][method]:.3f}", "best" if method in best["seconds"] else ""),
                (f"{scored.scores['steps'][method]:.3f}", "best" if method in best["steps"] else ""),
                (f"{scored.trials_per_workload[method]:g}", ""),
                (f"{reached} / {len(scored.workloads)}", ""),
                (", ".join(sorted({t["optimizer"] or "?" for t in trials if t["method"] == method})), "text"),
                (descriptions.get(method, ""), "text"),
            ]
        )
    header = [
        "method",
        "score (time)",
        "score (steps)",
        "trials per workload and seed",
        "targets reached",
        "optimizer",
        "what it is",
    ]
    return f"""
<h2>Benchmark scores</h2>
<p>Each workload has a <b>target</b>: a value of its evaluated metric (validation loss, accuracy, loss gap...) that
counts as "trained". A method's <b>time to target</b> on a workload is the training time (evaluation not counted)
until its first evaluation that meets the target, of the best trial in its tuning grid (each seed separately), then
the median over seeds. A method that never reaches the target has an infinite time. The <b>score</b> (AlgoPerf, Dahl
et al. 2023) is the area under its performance profile (next section) between 1 and {scored.r_max:g}, divided by
{scored.r_max - 1:g}: 1 means fastest on every workload; a workload counts 0 where the method missed the target or
was more than {scored.r_max:g} times slower than the fastest method. "Time" uses training seconds, "steps" optimizer
steps (independent of the machine's load). The trial count is what the method needs per workload and seed: a tuning
grid of peak learning rates, a fixed list of configurations, or a single self-tuning run. Scores count a method's
own trials only; for a method built on a prior run (refined), the workload tables below also give its time including
that run.</p>
{_table(header, rows)}
"""


def _workload_section(workload: str, scored: RunScores, figure: str) -> str:
    info = scored.workload_info[workload]
    results = scored.results[workload]
    higher = bool(info["higher_is_better"])
    best_final = _best_methods({m: r.final_metric_mean for m, r in results.items()}, higher)
    best_steps = _best_methods({m: r.steps_to_target for m, r in results.items()}, False)
    best_seconds = _best_methods({m: r.seconds_to_target for m, r in results.items()}, False)
    with_prior = any(r.seconds_with_prior is not None for r in results.values())
    header = ["method", "peak lr", "trials", "steps to target", "seconds to target", "ratio (steps)", "ratio (time)"]
    header += ["seconds incl. prior run", "steps incl. prior run"] if with_prior else []
    header += [f"final {info['metric_name']} (mean ± std)"]
    rows = []
    for method, result in results.items():
        row = [
            (method, ""),
            (_fmt(result.peak_lr, 3), ""),
            (str(result.trials), ""),
            (_fmt(result.steps_to_target), "best" if method in best_steps else ""),
            (_fmt(result.seconds_to_target, 3), "best" if method in best_seconds else ""),
            (_fmt(scored.ratios["steps"][workload][method], 3), ""),
            (_fmt(scored.ratios["seconds"][workload][method], 3), ""),
        ]
        if with_prior:
            row += [(_fmt(result.seconds_with_prior, 3), ""), (_fmt(result.steps_with_prior), "")]
        row.append(
            (_fmt_mean_std(result.final_metric_mean, result.final_metric_std), "best" if method in best_final else "")
        )
        rows.append(row)
    reached = any(math.isfinite(r.steps_to_target) for r in results.values())
    target = "no target set" if info["target"] is None else f"target {info['target']:.4g}"
    seeds = max(r.seeds for r in results.values())
    notes = "" if reached else " <b>No method reached the target on this workload.</b>"
    if with_prior:
        notes += " Columns 'incl. prior run' add the full cost of the run a method was built on (refined: the best "
        notes += "linear-decay trial of the same seed)."
    facts = f"<b>{_e(info['metric_name'])}</b> ({_direction(higher)}), {_e(target)}"
    return f"""
<h3 id="{_e(_slug(workload))}">{_e(workload)}</h3>
<p>Metric {facts}, budget {_e(info["budget_steps"])} optimizer steps, {seeds} seed(s).{notes}</p>
{_table(header, rows)}
<img src="{_e(figure)}" alt="learning curves on {_e(workload)}">
"""


def _failures_section(trials: list[dict[str, Any]]) -> str:
    failed = [t for t in trials if t["status"] == "failed"]
    if not failed:
        return "<h2>Failed trials</h2><p>None: every trial ran to its budget.</p>"
    rows = [
        [
            (t["workload"], ""),
            (t["method"], ""),
            (str(t["seed"]), ""),
            (_fmt(t["peak_lr"], 3), ""),
            (next(iter((t["error"] or "").strip().splitlines()), ""), "text"),
        ]
        for t in failed
    ]
    return f"""
<h2>Failed trials ({len(failed)})</h2>
<p>A failed trial (diverged or crashed) counts as a miss and has no final metric; the other trials of the grid
still count.</p>
{_table(["workload", "method", "seed", "peak lr", "reason"], rows)}
"""


def _html(
    run: Mapping[str, Any],
    scored: RunScores,
    trials: list[dict[str, Any]],
    curve_files: Mapping[str, str],
    schedules_file: str | None,
    schedule_notes: Sequence[str],
) -> str:
    created = datetime.datetime.fromtimestamp(run["created"], tz=datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    seeds = max(r.seeds for row in scored.results.values() for r in row.values())
    unfinished = sum(1 for t in trials if t["status"] == "running")
    descriptions = _method_descriptions(scored.methods)
    toc = " · ".join(f'<a href="#{_e(_slug(w))}">{_e(w)}</a>' for w in scored.workloads)
    workloads = "".join(_workload_section(w, scored, curve_files[w]) for w in scored.workloads)
    if schedules_file is None:
        schedules = "<p>No schedule was recorded.</p>"
    else:
        schedules = f'<img src="{_e(schedules_file)}" alt="learning-rate schedules">'
    notes = "".join(f"<li>{_e(n)}</li>" for n in schedule_notes)
    count = f"{len(trials)} trials"
    if unfinished:
        count += f" (<b>{unfinished} unfinished</b>: this report covers the finished ones)"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>tuneless bench: {_e(run["run_id"])}</title>
<style>{STYLE}</style></head><body>
<h1>tuneless bench report</h1>
<p>Run <code>{_e(run["run_id"])}</code>, suite <b>{_e(run["suite"])}</b>, started {created}.
{len(scored.workloads)} workloads, {len(scored.methods)} methods, {seeds} seed(s), {count}.
Numbers also in <a href="results.json">results.json</a>.</p>
{_scores_section(scored, descriptions, trials)}
<h2>Performance profiles</h2>
<p>For each method, the curve at τ is the fraction of workloads on which it reached the target within τ times the
time of the fastest method there. A curve that starts high at τ = 1 wins often; one that rises further right is
slower but gets there; the height it never reaches is workloads it missed (or was more than {scored.r_max:g}x
slower on). The score in the legend is the area under the curve, scaled to [0, 1].</p>
<img src="profile.png" alt="performance profiles">
<h2>Final metric at the budget</h2>
<p>The comparison used in the schedule papers: after the full step budget, the evaluated metric of each method's
best trial (per seed), mean ± standard deviation over seeds. The dashed line is the target.</p>
<img src="final_metric.png" alt="final metric per workload">
<h2>Workloads</h2>
<p>{toc}</p>
<p>Per workload, a table and a figure. In the table: times are medians over seeds of each seed's best trial
("missed" when the median seed missed the target; fastest in green); the peak lr is the one those best trials used
(lower middle value over seeds); "trials" is the number of trials per seed; ratios divide by the fastest method on
the workload; the final metric is the grid's best value at the budget, mean ± standard deviation over seeds (best
in green).</p>
<p class="note">Figures: each method's best trial (fewest steps to target, ties broken by the final metric) of the
first seed; left the metric at each evaluation, right the training loss averaged since the previous
evaluation.</p>
{workloads}
<h2>Learning-rate schedules used</h2>
<p>The multiplier of the peak learning rate against training progress. Methods that adapt their own step size
(schedule-free, Mechanic) show the schedule they were given, not their effective step size.</p>
{schedules}
{f"<ul>{notes}</ul>" if notes else ""}
{_failures_section(trials)}
</body></html>
"""


def write_report(store_path: str | Path, run_id: str, out_dir: str | Path) -> Path:
    """Write ``results.json``, the PNG figures and ``report.html`` (returned) into ``out_dir``."""
    store_path = Path(store_path)
    out_dir = Path(out_dir)
    run, trials = load_run(store_path, run_id)
    scored = score_trials(trials)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out_dir / "results.json", json.dumps(results_dict(run, scored), indent=2) + "\n")

    colors = _colors(scored.methods)
    _plot_profiles(scored, colors, out_dir / "profile.png")
    _plot_final_metrics(scored, colors, out_dir / "final_metric.png")
    first_seed = {(w, m): next(iter(r.chosen.values())) for w, row in scored.results.items() for m, r in row.items()}
    measurements = _measurements(store_path, [t["trial_id"] for t in first_seed.values()])
    curve_files = {}
    for workload in scored.workloads:
        curves = {m: (t, measurements[t["trial_id"]]) for (w, m), t in first_seed.items() if w == workload}
        name = f"curves-{_slug(workload)}.png"
        _plot_curves(workload, scored, curves, colors, out_dir / name)
        curve_files[workload] = name
    schedules, notes = _plot_schedules(scored, colors, store_path, out_dir / "schedules.png")
    page = _html(run, scored, trials, curve_files, None if schedules is None else schedules.name, notes)
    path = out_dir / "report.html"
    write_text_atomic(path, page)
    return path
