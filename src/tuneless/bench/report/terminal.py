"""The terminal summary of a benchmark run: one row per method, whatever the number of workloads."""

from __future__ import annotations

from typing import Any

from ..record.rows import RunRow
from ..score.scoring import MEASURES, RunScores, best_scores, method_summaries
from .formatting import count, format_trial_counts

__all__ = ["terminal_table"]


def terminal_table(run: RunRow, scored: RunScores) -> Any:
    """A ``rich.table.Table``: per method the benchmark scores (time, steps), trials per workload and seed, on how
    many workloads it reached the target, on how many its final metric was the best (ties count for each), and on
    how many of its peak-lr grids the best lr was at an edge; the best score in bold green. Per-workload numbers
    are in the HTML report and results.json."""
    from rich.markup import escape
    from rich.table import Table

    n = len(scored.workloads)
    table = Table(
        title=f"tuneless bench: run {run.run_id} (suite {run.suite}, {count(n, 'workload')})",
        caption="score: AlgoPerf benchmark score in [0, 1] from time (or steps) to target, 1 = fastest on every "
        f"workload, 0 = missed or over {scored.r_max:g}x slower everywhere. best final: workloads where the "
        "method's final metric (mean over seeds of its best trial) is the best. lr at grid edge: workloads where "
        "a best peak lr (by steps or by final metric) is the lowest or highest tried (the optimum may lie outside: "
        "widen the grid). "
        "Details: report.html.",
    )
    table.add_column("method", style="bold", no_wrap=True)
    table.add_column("score (time)", justify="right")
    table.add_column("score (steps)", justify="right")
    table.add_column("trials / workload", justify="right")
    table.add_column("targets reached", justify="right")
    table.add_column("best final", justify="right")
    table.add_column("lr at grid edge", justify="right")
    best = {measure: best_scores(scored.scores[measure]) for measure in MEASURES}

    def cell(text: str, highlight: bool, style: str = "bold green") -> str:
        return f"[{style}]{text}[/]" if highlight else text

    for method, summary in method_summaries(scored).items():
        edge = f"{summary.lr_at_edge}/{summary.lr_grids}" if summary.lr_grids else "no grid"
        table.add_row(
            escape(method),
            cell(f"{summary.scores['seconds']:.3f}", method in best["seconds"]),
            cell(f"{summary.scores['steps']:.3f}", method in best["steps"]),
            format_trial_counts(summary),
            f"{summary.targets_reached}/{n}",
            f"{summary.best_final}/{n}",
            cell(edge, summary.lr_at_edge > 0, "yellow"),
        )
    return table
