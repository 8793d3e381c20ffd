"""Markdown tables of a run for docs/results.md, and the per-workload verdicts on the paper's two claims.

Claims (Defazio et al. 2023, arXiv 2310.07831): (1) linear decay matches or beats cosine; (2) the refined schedule
improves on linear decay. Per workload, two methods are compared on the final validation metric at the budget
(per seed the grid's best trial, mean over seeds, ``scoring.final_metric_stats``): the difference counts only
when it exceeds the larger of the two standard deviations over seeds, otherwise it is a tie within seed noise.
Time to target (median over seeds of the best trial's steps, ``scoring``) is shown beside it, and for the
refined method also its cost including the prior linear-decay run.
"""

from __future__ import annotations

from collections.abc import Sequence

from .formatting import MISSING, format_mean_std, format_number, format_trial_counts
from .scoring import RunScores, method_summaries, score_trials
from .store import Store

__all__ = ["claim_verdict", "markdown_tables"]


def claim_verdict(
    mean_a: float | None, std_a: float | None, mean_b: float | None, std_b: float | None, higher_is_better: bool
) -> str:
    """``"better"``, ``"worse"`` or ``"tie"`` for method a against b (``"n/a"`` when either has no result)."""
    if mean_a is None or mean_b is None:
        return "n/a"
    noise = max(std_a or 0.0, std_b or 0.0)
    difference = (mean_a - mean_b) if higher_is_better else (mean_b - mean_a)  # > 0: a is better
    if abs(difference) <= noise:
        return "tie"
    return "better" if difference > 0 else "worse"


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def markdown_tables(store_path: str, run_id: str | None = None) -> str:
    """Scores, final metrics and the two claims of a run (default: the store's latest), as markdown."""
    with Store(store_path, read_only=True) as store:
        run_id = run_id or store.latest_run_id()
        run = store.run(run_id)
        scored: RunScores = score_trials(store.trials(run_id))
    lines = [f"Run `{run_id}` (suite {run['suite']}, {run['config']['seeds']} seeds).", ""]
    lines += ["### Benchmark score (AlgoPerf, r_max = 4; 1 = fastest to the target everywhere)", ""]
    lines += [_row(["method", "score (steps)", "score (seconds)", "trials per workload and seed"]), _row(["---"] * 4)]
    for summary in sorted(method_summaries(scored).values(), key=lambda summary: -summary.scores["steps"]):
        scores = [f"{summary.scores['steps']:.3f}", f"{summary.scores['seconds']:.3f}"]
        lines.append(_row([summary.method, *scores, format_trial_counts(summary)]))
    lines += _final_metric_lines(scored)
    for a, b, title in (
        ("linear", "cosine", "Claim 1: linear decay vs cosine"),
        ("refined", "linear", "Claim 2: refined vs linear decay"),
    ):
        if a in scored.methods and b in scored.methods:
            lines += _claim_lines(scored, a, b, title)
    return "\n".join(lines) + "\n"


def _final_metric_lines(scored: RunScores) -> list[str]:
    """The final metric of every method on every workload, then the best peak lrs at the edge of their grid."""
    lines = ["", "### Final validation metric at the budget (grid best per seed; mean ± std over seeds)", ""]
    lines += [_row(["workload", "metric", *scored.methods]), _row(["---"] * (2 + len(scored.methods)))]
    for workload in scored.workloads:
        info = scored.workload_info[workload]
        arrow = "max" if info["higher_is_better"] else "min"
        results = [scored.results[workload].get(method) for method in scored.methods]
        cells = [MISSING if r is None else format_mean_std(r.final_metric_mean, r.final_metric_std) for r in results]
        lines.append(_row([workload, f"{info['metric_name']} ({arrow})", *cells]))
    edges = [
        f"{workload} / {method} ({format_number(result.peak_lr, 3)}, the {result.lr_edge})"
        for workload in scored.workloads
        for method, result in scored.results[workload].items()
        if result.lr_edge
    ]
    if edges:
        lines += ["", f"Best peak lr at the edge of its grid (the best lr may lie outside it): {'; '.join(edges)}."]
    return lines


def _claim_lines(scored: RunScores, a: str, b: str, title: str) -> list[str]:
    """Method ``a`` against ``b`` on every workload: final metrics, the verdict, steps to target, and the counts."""
    refined = a == "refined"
    header = ["workload", f"final {a}", f"final {b}", "verdict (final metric)", f"steps {a}", f"steps {b}"]
    header += ["steps refined incl. prior"] if refined else []
    lines = ["", f"### {title}", "", _row(header), _row(["---"] * len(header))]
    counts = {"better": 0, "tie": 0, "worse": 0, "n/a": 0}
    for workload in scored.workloads:
        ra, rb = scored.results[workload].get(a), scored.results[workload].get(b)
        if ra is None or rb is None:
            continue
        higher = bool(scored.workload_info[workload]["higher_is_better"])
        verdict = claim_verdict(
            ra.final_metric_mean, ra.final_metric_std, rb.final_metric_mean, rb.final_metric_std, higher
        )
        counts[verdict] += 1
        cells = [workload, format_number(ra.final_metric_mean), format_number(rb.final_metric_mean), f"{a} {verdict}"]
        cells += [format_number(ra.steps_to_target), format_number(rb.steps_to_target)]
        cells += [format_number(ra.steps_with_prior)] if refined else []
        lines.append(_row(cells))
    lines += [
        "",
        f"{a} vs {b}: better on {counts['better']}, tie on {counts['tie']}, worse on "
        f"{counts['worse']} workloads (a difference counts when it exceeds the larger std over seeds).",
    ]
    return lines
