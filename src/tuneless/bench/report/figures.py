"""The figures of a benchmark report (PNG): performance profiles, final metrics, the final metric against the peak
lr, learning curves, the claims' paired differences (the schedules: ``schedule_figure``)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..record.rows import Measurement, Trial
from ..score.profiles import performance_profile
from ..score.scoring import RunScores, best_methods
from .formatting import count, direction

__all__ = [
    "lr_sensitivity_points",
    "method_colors",
    "plot_claims",
    "plot_curves",
    "plot_final_metrics",
    "plot_lr_sensitivity",
    "plot_profiles",
]


def method_colors(methods: Sequence[str]) -> dict[str, Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if len(methods) <= 10 else "tab20"]
    return {m: cmap(i % cmap.N) for i, m in enumerate(methods)}


LINESTYLES = ("-", "--", "-.", ":")


def _spans_decades(values: Sequence[float]) -> bool:
    """Log scale when all values are positive and the largest is more than 10x the smallest."""
    values = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    return values.size > 1 and bool(np.all(values > 0)) and values.max() > 10 * values.min()


def plot_profiles(scored: RunScores, colors: Mapping[str, Any], path: Path) -> Path:
    from ...plotting import pyplot, save

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
    over = count(len(scored.workloads), "workload")
    fig.suptitle(f"Performance profiles over {over} (higher and further left is better)")
    return save(fig, path)


def plot_final_metrics(scored: RunScores, colors: Mapping[str, Any], path: Path) -> Path:
    from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

    from ...plotting import pyplot, save

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
        best = best_methods({m: results[m].final_metric_mean for m in methods}, bool(info["higher_is_better"]))
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
        ax.set_xlabel(f"{info['metric_name']} at the budget ({direction(info['higher_is_better'])})", fontsize=8)
        target = "" if info["target"] is None else f" (dashed line: target {info['target']:.4g})"
        ax.set_title(f"{workload}{target}", fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle("Metric at the budget: mean ± std over seeds of each method's best trial (black edge = best)")
    return save(fig, path)


def lr_sensitivity_points(
    trials: Sequence[Trial], methods_with_lr: Sequence[str]
) -> dict[str, dict[str, dict[float, list[float]]]]:
    """workload -> method -> peak lr -> the finished trials' final metrics (one per seed), for the methods named,
    at each workload's full budget (a method tuned at a shorter horizon, such as ``linear-quarter``, is left out:
    its metric is of another run length)."""
    full = {}
    for t in trials:
        full[t.workload] = max(full.get(t.workload, 0), t.budget_steps or 0)
    points: dict[str, dict[str, dict[float, list[float]]]] = {}
    for t in trials:
        if (
            t.method in methods_with_lr
            and t.status == "done"
            and t.peak_lr is not None
            and t.final_metric is not None
            and math.isfinite(t.final_metric)
            and t.budget_steps == full[t.workload]
        ):
            by_lr = points.setdefault(t.workload, {}).setdefault(t.method, {})
            by_lr.setdefault(float(t.peak_lr), []).append(float(t.final_metric))
    return points


def plot_lr_sensitivity(
    scored: RunScores,
    trials: Sequence[Trial],
    colors: Mapping[str, Any],
    path: Path,
    method_info: Mapping[str, Mapping[str, Any]],
) -> Path | None:
    """Final metric against the peak lr, one panel per workload: for each method with a real peak lr (grid-tuned
    methods and the ones that take one lr per seed from a prior run, such as lr transfer; not Mechanic, Prodigy or
    the NAdamW list, whose "lr" is a fixed list entry or a scale they learn), the median over seeds at each lr it
    ran (a line, a ring on its best; diamonds without a line for one-lr methods) and each seed's value (dots).
    ``None`` (no file) when no method ran a full-budget lr. ``method_info``: the run's stored ``method_info``."""
    from ...plotting import pyplot, save

    # a real peak lr: grid methods (no fixed trial list) and methods that take their lr from a prior run
    with_lr = [m for m in scored.methods if m in method_info and (method_info[m]["grid"] or method_info[m]["prior"])]
    points = lr_sensitivity_points(trials, with_lr)
    workloads = [w for w in scored.workloads if w in points]
    if not workloads:
        return None
    plt = pyplot()
    cols = min(3, len(workloads))
    rows = math.ceil(len(workloads) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.8 * rows), squeeze=False, layout="constrained")
    for ax in axes.flat[len(workloads) :]:
        ax.set_visible(False)
    shown: dict[str, Any] = {}
    for ax, workload in zip(axes.flat, workloads, strict=False):
        info = scored.workload_info[workload]
        sign = -1.0 if info["higher_is_better"] else 1.0
        values: list[float] = []
        for i, method in enumerate(m for m in with_lr if m in points[workload]):
            by_lr = points[workload][method]
            lrs = sorted(by_lr)
            medians = [float(np.median(by_lr[lr])) for lr in lrs]
            if method_info[method]["prior"] and not method_info[method]["grid"]:  # one lr per seed: no curve
                style = {"color": colors[method], "ls": "none", "marker": "D", "ms": 5}
            else:
                style = {"color": colors[method], "ls": LINESTYLES[i % len(LINESTYLES)], "marker": "o", "ms": 4}
            shown[method] = ax.plot(lrs, medians, lw=1.5, label=method, **style)[0]
            for lr in lrs:
                ax.plot([lr] * len(by_lr[lr]), by_lr[lr], ".", ms=3, alpha=0.35, color=colors[method])
            best = int(np.argmin([sign * m for m in medians]))
            ax.plot(lrs[best], medians[best], "o", ms=10, mfc="none", mec=colors[method], mew=1.5)
            values += medians
        _lr_axes(ax, workload, info, values)
    fig.legend(list(shown.values()), list(shown), loc="outside lower center", ncol=min(5, len(shown)), fontsize=8)
    fig.suptitle("Final metric against the peak lr: median over seeds (line, ring = best), each seed (dots)")
    return save(fig, path)


def _lr_axes(ax: Any, workload: str, info: Mapping[str, Any], values: Sequence[float]) -> None:
    """A panel of ``plot_lr_sensitivity``: log lr axis, the medians' range (or a log scale), labels."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    if _spans_decades(values):
        ax.set_yscale("log")
    else:  # the medians' range: a diverging seed's dot must not squash the basin (it is cut at the edge)
        low, high = min(values), max(values)
        margin = 0.08 * (high - low) or 0.05 * abs(high) or 1.0
        ax.set_ylim(low - margin, high + margin)
    ax.set_xlabel("peak learning rate", fontsize=8)
    ax.set_ylabel(f"{info['metric_name']} ({direction(info['higher_is_better'])})", fontsize=8)
    ax.set_title(workload, fontsize=10)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3, which="both")


def plot_curves(
    workload: str,
    scored: RunScores,
    curves: Mapping[str, tuple[Trial, list[Measurement]]],
    colors: Mapping[str, Any],
    path: Path,
) -> Path:
    """Validation metric and mean training loss against the step, one line per method (its chosen trial)."""
    from ...plotting import pyplot, save

    plt = pyplot()
    info = scored.workload_info[workload]
    fig, (ax_metric, ax_loss) = plt.subplots(1, 2, figsize=(12, 4.4))
    metric_values: list[float] = []
    loss_values: list[float] = []
    for i, method in enumerate(scored.methods):
        if method not in curves:
            continue
        trial, rows = curves[method]
        lr = "" if trial.peak_lr is None else f", peak lr {trial.peak_lr:.3g}"
        label = f"{method}{lr}" + ("" if trial.status == "done" else f" ({trial.status})")
        style = {"color": colors[method], "ls": LINESTYLES[i % len(LINESTYLES)], "lw": 1.8}
        steps = [r.step for r in rows if r.metric is not None]
        metric = [r.metric for r in rows if r.metric is not None]
        ax_metric.plot(steps, metric, marker=".", ms=4, label=label, **style)
        metric_values += metric
        loss_rows = [r for r in rows if r.train_loss is not None and math.isfinite(r.train_loss)]
        ax_loss.plot([r.step for r in loss_rows], [r.train_loss for r in loss_rows], **style)
        loss_values += [r.train_loss for r in loss_rows]
    if info["target"] is not None:
        ax_metric.axhline(info["target"], color="gray", ls="--", lw=1, label=f"target {info['target']:.4g}")
    for ax, values in ((ax_metric, [*metric_values, info["target"]]), (ax_loss, loss_values)):
        if _spans_decades(values):
            ax.set_yscale("log")
        ax.set_xlabel("optimizer step")
        ax.grid(alpha=0.3)
        if info["budget_steps"]:
            ax.set_xlim(0, info["budget_steps"])
    ax_metric.set_ylabel(f"{info['metric_name']} ({direction(info['higher_is_better'])})")
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


VERDICT_COLORS = {"better": "#1a9850", "worse": "#d73027", "tie": "#777777"}


def plot_claims(panels: Mapping[str, Sequence[tuple[str, float, float, float, str]]], path: Path) -> Path:
    """One panel per claim: per workload, the paired difference of the final metric and its interval in percent of
    the second method's mean, signed so that right of 0 means the first method is better, coloured by the paired
    verdict. ``panels``: title -> rows ``(workload, estimate, low, high, verdict)``. Symmetric-log x axis (linear
    within +-1%), since a logistic regression's loss gap can differ by 100% where an accuracy differs by 0.2%."""
    from matplotlib.ticker import FuncFormatter

    from ...plotting import pyplot, save

    plt = pyplot()
    titles = list(panels)
    columns = 2 if len(titles) > 1 else 1
    rows = math.ceil(len(titles) / columns)
    height = max(max(len(points) for points in panels.values()) * 0.22 + 1.2, 2.2)  # one workload: still readable
    fig, axes = plt.subplots(rows, columns, figsize=(6.5 * columns, height * rows), squeeze=False)
    for ax, title in zip(axes.flat, titles, strict=False):
        points = panels[title]
        y = np.arange(len(points))[::-1]
        for yi, (_, estimate, low, high, verdict) in zip(y, points, strict=True):
            color = VERDICT_COLORS.get(verdict, "#777777")
            ax.plot([low, high], [yi, yi], color=color, lw=2, alpha=0.8)
            ax.plot([estimate], [yi], "o", color=color, ms=5)
        ax.axvline(0, color="black", lw=0.8)
        ax.set_xscale("symlog", linthresh=1.0)
        finite = [abs(v) for point in points for v in point[1:4] if math.isfinite(v)]
        reach = max([1.0, *finite]) * 1.15  # symmetric about 0, at least the linear +-1%
        ax.set_xlim(-reach, reach)
        ax.xaxis.set_major_formatter(
            FuncFormatter(lambda value, _: f"{value:,.0f}%" if abs(value) >= 1 else f"{value:.3g}%")
        )
        ax.set_yticks(y, [point[0] for point in points], fontsize=8)
        ax.set_ylim(-0.7, len(points) - 0.3)
        counts = {v: sum(point[4] == v for point in points) for v in ("better", "tie", "worse")}
        ax.set_title(f"{title}\n{counts['better']} better / {counts['tie']} tie / {counts['worse']} worse", fontsize=10)
        ax.set_xlabel("difference, % of the second method's final metric (> 0: the first is better)", fontsize=8)
        ax.grid(alpha=0.3, axis="x")
    for ax in list(axes.flat)[len(titles) :]:
        ax.set_visible(False)
    fig.suptitle("Paired differences of the final metric, 95% intervals (green: better, red: worse, grey: tie)")
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / fig.get_figheight()))  # 0.35 inch for the title above the panels
    return save(fig, path)
