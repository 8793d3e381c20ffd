"""Markdown tables of a run for docs/results.md, and the per-workload verdicts on the paper's two claims.

Claims (Defazio et al. 2023, arXiv 2310.07831): (1) linear decay matches or beats cosine; (2) the refined schedule
improves on linear decay. Per workload, two methods are compared on the final validation metric at the budget
(per seed the grid's best trial, mean over seeds, ``scoring.final_metric_stats``): the difference counts only
when it exceeds the larger of the two standard deviations over seeds, otherwise it is a tie within seed noise.
Time to target (median over seeds of the best trial's steps, ``scoring``) is shown beside it, and for the
refined method also its cost including the prior linear-decay run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .scoring import RunScores, score_trials
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


def _num(value: float | None, digits: int = 4) -> str:
    if value is None:
        return "-"
    if math.isinf(value):
        return "miss"
    return f"{value:.{digits}g}"


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
    for method in sorted(scored.methods, key=lambda m: -scored.scores["steps"][m]):
        lines.append(
            _row(
                [
                    method,
                    f"{scored.scores['steps'][method]:.3f}",
                    f"{scored.scores['seconds'][method]:.3f}",
                    f"{scored.trials_per_workload[method]:g}",
                ]
            )
        )
    lines += ["", "### Final validation metric at the budget (grid best per seed; mean ± std over seeds)", ""]
    lines += [_row(["workload", "metric", *scored.methods]), _row(["---"] * (2 + len(scored.methods)))]
    for workload in scored.workloads:
        info = scored.workload_info[workload]
        arrow = "max" if info["higher_is_better"] else "min"
        cells = []
        for method in scored.methods:
            result = scored.results[workload].get(method)
            cells.append(
                "-" if result is None else f"{_num(result.final_metric_mean)} ± {_num(result.final_metric_std, 2)}"
            )
        lines.append(_row([workload, f"{info['metric_name']} ({arrow})", *cells]))
    for a, b, title in (
        ("linear", "cosine", "Claim 1: linear decay vs cosine"),
        ("refined", "linear", "Claim 2: refined vs linear decay"),
    ):
        if a not in scored.methods or b not in scored.methods:
            continue
        lines += ["", f"### {title}", ""]
        lines += [
            _row(
                ["workload", f"final {a}", f"final {b}", "verdict (final metric)", f"steps {a}", f"steps {b}"]
                + (["steps refined incl. prior"] if a == "refined" else [])
            ),
            _row(["---"] * (7 if a == "refined" else 6)),
        ]
        counts = {"better": 0, "tie": 0, "worse": 0, "n/a": 0}
        for workload in scored.workloads:
            ra, rb = scored.results[workload].get(a), scored.results[workload].get(b)
            if ra is None or rb is None:
                continue
            verdict = claim_verdict(
                ra.final_metric_mean,
                ra.final_metric_std,
                rb.final_metric_mean,
                rb.final_metric_std,
                bool(scored.workload_info[workload]["higher_is_better"]),
            )
            counts[verdict] += 1
            extra = [_num(ra.steps_with_prior)] if a == "refined" else []
            lines.append(
                _row(
                    [
                        workload,
                        _num(ra.final_metric_mean),
                        _num(rb.final_metric_mean),
                        f"{a} {verdict}",
                        _num(ra.steps_to_target),
                        _num(rb.steps_to_target),
                        *extra,
                    ]
                )
            )
        lines += [
            "",
            f"{a} vs {b}: better on {counts['better']}, tie on {counts['tie']}, worse on "
            f"{counts['worse']} workloads (a difference counts when it exceeds the larger std over seeds).",
        ]
    return "\n".join(lines) + "\n"
