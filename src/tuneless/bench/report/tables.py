"""Markdown tables of a run for docs/results.md, with the per-workload verdicts on the claims (``score.claims``).

Claims (Defazio et al. 2023, arXiv 2310.07831): (1) linear decay matches or beats cosine; (2) the refined schedule
improves on linear decay; and ours: online refinement (no prior run) against linear decay and against offline
refinement counted with its prior run; the peak lr transferred from a quarter of the budget against grid-tuned
linear decay and against keeping the quarter-budget lr. Each claim whose two methods are in the run gets a table.
Per workload, two methods are compared on the final validation metric at the budget
(per seed the grid's best trial) and on steps to target (per seed the best trial's), two ways:

- **paired** (``paired``): seed by seed (same data order and initialisation), a 95% paired bootstrap interval on
  the difference ``a - b`` (mean over seeds for the final metric, median for steps); "better"/"worse" only when
  the interval excludes zero with at least ``paired.MIN_PAIRED_SEEDS`` seeds, otherwise "tie";
- **noise rule** (the earlier one, kept for comparison): the difference of the means over seeds counts only when
  it exceeds the larger of the two standard deviations over seeds.

Time to target (median over seeds of the best trial's steps, ``scoring``) is shown beside it, and for a method
built on a prior run (refinement, transfer) also its cost including that prior. A claim with ``count_prior``
compares steps to target including the prior runs' steps (online refinement against offline refinement: the
question is what the prior run buys).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from ..record.rows import RunRow, Trial
from ..record.store import Store
from ..score.claims import CLAIMS, Claim, ClaimPoint, claim_panels, claim_verdict
from ..score.paired import MIN_PAIRED_SEEDS, PAIRED_LEVEL, PairedComparison, paired_comparison
from ..score.scoring import (
    CPU_MEASURE,
    MethodResult,
    RunScores,
    method_summaries,
    per_seed_final_metrics,
    score_trials,
    time_to_target,
)
from ..score.self_tuning import self_tuning_scores
from .formatting import MISSING, count, format_mean_std, format_number, format_trial_counts

__all__ = ["claim_figure", "draw_claims", "markdown_tables"]


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def markdown_tables(store_path: str, run_id: str | None = None, claims: Sequence[Claim] = CLAIMS) -> str:
    """Scores, final metrics and the claims of a run (default: the store's latest), as markdown: a table for each
    claim whose two methods are in the run."""
    with Store(store_path, read_only=True) as store:
        run_id = run_id or store.latest_run_id()
        run = store.run(run_id)
        trials = store.trials(run_id)
    scored: RunScores = score_trials(trials)
    finals = per_seed_final_metrics(trials)
    lines = _run_lines(run, trials) + _score_lines(scored) + _self_tuning_lines(scored)
    lines += _final_metric_lines(scored)
    present = [claim for claim in claims if claim.a in scored.methods and claim.b in scored.methods]
    sections = [_claim_lines(scored, finals, claim) for claim in present]
    if sections:
        lines += _glance_lines([summary for _, summary in sections])
    for section, _ in sections:
        lines += section
    return "\n".join(lines) + "\n"


def _run_lines(run: RunRow, trials: Sequence[Trial]) -> list[str]:
    """What the run is: its suite, seeds and tuning; with too few seeds for paired verdicts, how many it needs."""
    seeds, resolution = run.config.seeds, run.config.lr_resolution
    names = {"steps": "fewest steps to target", "final": "final metric"}
    measure = " and ".join(names[m] for m in run.config.tune_by)
    tuning = (
        f"each grid method's best peak lr by {measure} bracketed within a factor {resolution:g} per seed (or its "
        "trial cap)"
        if resolution
        else "peak lrs on the grid only"
    )
    lines = [f"Run `{run.run_id}` (suite {run.suite}, {count(seeds, 'seed')}; {tuning}).", ""]
    if seeds < MIN_PAIRED_SEEDS:
        finished = sum(t.status != "running" for t in trials)
        lines += [
            f"Paired verdicts need at least {MIN_PAIRED_SEEDS} seeds; this run has {seeds}, so every paired verdict "
            f"is a tie. For the claims, rerun with `--seeds {MIN_PAIRED_SEEDS}`: about "
            f"{round(finished * MIN_PAIRED_SEEDS / seeds):,} trials ({MIN_PAIRED_SEEDS}/{seeds} of this run's "
            f"{finished:,}, and about that ratio of its wall time).",
            "",
        ]
    return lines


def _score_lines(scored: RunScores) -> list[str]:
    """The benchmark scores of every method, best by steps first."""
    cpu = CPU_MEASURE in scored.scores
    lines = ["### Benchmark score (AlgoPerf, r_max = 4; 1 = fastest to the target everywhere)", ""]
    header = ["method", "score (steps)", "score (seconds)"] + (["score (CPU seconds)"] if cpu else [])
    lines += [_row([*header, "trials per workload and seed"]), _row(["---"] * (len(header) + 1))]
    for summary in sorted(method_summaries(scored).values(), key=lambda summary: -summary.scores["steps"]):
        scores = [f"{summary.scores[measure]:.3f}" for measure in ("steps", "seconds", CPU_MEASURE)[: len(header) - 1]]
        lines.append(_row([summary.method, *scores, format_trial_counts(summary)]))
    lines += [
        "",
        "Steps are deterministic. Wall-clock seconds move with the machine's load (sub-second trials measure "
        "process overhead as much as training): under a competing load they moved scores by up to 0.08, CPU "
        "seconds (each trial process's own CPU time over its training steps) by up to 0.02 (docs/bench.md, "
        "benchmarks/time_score_load.py). Read steps first, CPU seconds second.",
    ]
    return lines


def _self_tuning_lines(scored: RunScores) -> list[str]:
    """The one-run methods' benchmark scores among themselves (score/self_tuning.py), when the run has two."""
    scores = self_tuning_scores(scored)
    if not scores:
        return []
    lines = ["", "### Self-tuning track: the one-run methods scored among themselves (AlgoPerf self-tuning)", ""]
    names = {"steps": "steps", "seconds": "seconds", CPU_MEASURE: "CPU seconds"}
    lines += [_row(["method", *(f"score ({names[m]})" for m in scores)]), _row(["---"] * (len(scores) + 1))]
    for method in sorted(scores["steps"], key=lambda m: -scores["steps"][m]):
        lines.append(_row([method, *(f"{scores[m][method]:.3f}" for m in scores)]))
    lines += [
        "",
        "One trial per workload and seed, no prior run, every pilot inside the trial; the grid-tuned methods are "
        "left out, so these ratios are to the best one-run method on each workload.",
    ]
    return lines


def _glance_lines(summaries: Sequence[str]) -> list[str]:
    """The claims at a glance: one row per claim (``_claim_lines``' summaries)."""
    lines = ["", "### The claims at a glance", ""]
    lines += [
        "Per claim, over the workloads where both methods ran: how many the first method is better on, tied "
        "with, worse on. Paired: the 95% paired bootstrap interval excludes 0 (at least "
        f"{MIN_PAIRED_SEEDS} seeds); noise rule: the difference of the means exceeds the larger std over seeds.",
        "",
        _row(
            [
                "claim",
                "final metric, paired (better / tie / worse)",
                "final metric better on (paired)",
                "final metric worse on (paired)",
                "final metric, noise rule (better / tie / worse)",
                "steps to target, paired (better / tie / worse)",
            ]
        ),
        _row(["---"] * 6),
    ]
    lines += list(summaries)
    lines += [
        "",
        f"(A workload where the two methods share fewer than {MIN_PAIRED_SEEDS} seeds with a final metric, "
        "e.g. after failed trials, is a paired tie, named with its seed count in the last column; one where "
        "they share none is counted there as without a result.)",
    ]
    return lines


def claim_figure(
    store_path: str, path: str | Path, run_id: str | None = None, claims: Sequence[Claim] = CLAIMS
) -> Path | None:
    """Draw ``claim_panels`` of a run (default: the store's latest) with ``figures.plot_claims``; ``None`` (and no
    file) when no claim has both of its methods with a common seed."""
    with Store(store_path, read_only=True) as store:
        run_id = run_id or store.latest_run_id()
        trials = store.trials(run_id)
    return draw_claims(claim_panels(score_trials(trials), per_seed_final_metrics(trials), claims), path)


def draw_claims(panels: dict[str, list[ClaimPoint]], path: str | Path) -> Path | None:
    """``figures.plot_claims`` of the panels, or ``None`` when there are none."""
    from .figures import plot_claims

    return plot_claims(panels, Path(path)) if panels else None


def _final_metric_lines(scored: RunScores) -> list[str]:
    """The final metric of every method on every workload, then the best peak lrs at the edge of their grid."""
    lines = [
        "",
        "### Final validation metric at the budget (per seed the best over every lr tried; mean ± std over seeds)",
        "",
    ]
    lines += [_row(["workload", "metric", *scored.methods]), _row(["---"] * (2 + len(scored.methods)))]
    for workload in scored.workloads:
        info = scored.workload_info[workload]
        arrow = "max" if info["higher_is_better"] else "min"
        results = [scored.results[workload].get(method) for method in scored.methods]
        cells = [MISSING if r is None else format_mean_std(r.final_metric_mean, r.final_metric_std) for r in results]
        lines.append(_row([workload, f"{info['metric_name']} ({arrow})", *cells]))
    edges = [
        f"{workload} / {method} ({format_number(result.edge[0], 3)}, the {result.edge[1]})"
        for workload in scored.workloads
        for method, result in scored.results[workload].items()
        if result.lr_edge
    ]
    if edges:
        lines += ["", f"Best peak lr at the edge of its grid (the best lr may lie outside it): {'; '.join(edges)}."]
    return lines


def _paired_cell(comparison: PairedComparison, digits: int = 4) -> str:
    if comparison.verdict == "n/a":
        return MISSING

    def number(value: float) -> str:
        return f"{value:+g}" if math.isinf(value) else format_number(value, digits)

    return f"{number(comparison.estimate)} [{number(comparison.low)}, {number(comparison.high)}]"


def _claim_header(claim: Claim, with_prior: Sequence[str]) -> list[str]:
    """The column names of a claim's table."""
    a, b = claim.a, claim.b
    prior = " incl. prior" if claim.count_prior else ""
    level = f"{PAIRED_LEVEL:.0%}"
    header = ["workload", f"final {a}", f"final {b}", f"final {a} - {b} [{level}]", "paired verdict (final)"]
    own = " (excl. prior)" if claim.count_prior else ""
    header += ["noise-rule verdict (final)", f"steps {a}{own}", f"steps {b}{own}", f"steps {a} - {b}{prior} [{level}]"]
    return header + [f"paired verdict (steps{prior})"] + [f"steps {m} incl. prior" for m in with_prior]


def _compare(
    ra: MethodResult, rb: MethodResult, finals: dict[str, dict[int, float]], claim: Claim, higher: bool
) -> tuple[PairedComparison, PairedComparison, str]:
    """Method a against b on one workload: the paired comparisons of final metrics and of steps to target, and
    the noise rule's verdict on the final metrics."""
    noise = claim_verdict(ra.final_metric_mean, ra.final_metric_std, rb.final_metric_mean, rb.final_metric_std, higher)
    final = paired_comparison(finals.get(claim.a, {}), finals.get(claim.b, {}), higher)
    steps = paired_comparison(
        _steps_per_seed(ra, claim.count_prior),
        _steps_per_seed(rb, claim.count_prior),
        higher_is_better=False,
        statistic="median",
    )
    return final, steps, noise


def _claim_lines(
    scored: RunScores, finals: dict[str, dict[str, dict[int, float]]], claim: Claim
) -> tuple[list[str], str]:
    """Method ``a`` against ``b`` on every workload: final metrics and steps to target, each with its paired
    difference, interval and verdict; the noise rule's verdict beside them; the counts. Also the claim's row of
    the at-a-glance table."""
    a, b = claim.a, claim.b
    with_prior = [
        m
        for m in (a, b)
        if any(scored.results[w].get(m) and _has_prior(scored.results[w][m]) for w in scored.workloads)
    ]
    level = f"{PAIRED_LEVEL:.0%}"
    header = _claim_header(claim, with_prior)
    lines = ["", f"### {claim.title}", "", _row(header), _row(["---"] * len(header))]
    counts = {kind: dict.fromkeys(("better", "tie", "worse", "n/a"), 0) for kind in ("paired", "steps", "noise")}
    named: dict[str, list[str]] = {"better": [], "worse": []}
    few_seeds: list[str] = []
    for workload in scored.workloads:
        ra, rb = scored.results[workload].get(a), scored.results[workload].get(b)
        if ra is None or rb is None:
            continue
        higher = bool(scored.workload_info[workload]["higher_is_better"])
        final, steps, noise = _compare(ra, rb, finals[workload], claim, higher)
        for kind, verdict in (("paired", final.verdict), ("steps", steps.verdict), ("noise", noise)):
            counts[kind][verdict] += 1
        named.get(final.verdict, []).append(workload)
        if final.verdict != "n/a" and len(final.seeds) < MIN_PAIRED_SEEDS <= len(set(ra.chosen) | set(rb.chosen)):
            few_seeds.append(f"{workload} ({count(len(final.seeds), 'seed')})")
        cells = [workload, format_number(ra.final_metric_mean), format_number(rb.final_metric_mean)]
        cells += [_paired_cell(final), f"{a} {final.verdict}", f"{a} {noise}"]
        cells += [format_number(ra.steps_to_target), format_number(rb.steps_to_target), _paired_cell(steps, 6)]
        cells += [f"{a} {steps.verdict}"]
        cells += [format_number({a: ra, b: rb}[m].steps_with_prior) for m in with_prior]
        lines.append(_row(cells))

    def tally(kind: str) -> str:
        c = counts[kind]
        return f"better on {c['better']}, tie on {c['tie']}, worse on {c['worse']}"

    lines += [
        "",
        f"{a} vs {b}, final metric, paired ({level} paired bootstrap interval of the mean difference over seeds "
        f"excludes 0, at least {MIN_PAIRED_SEEDS} seeds): {tally('paired')} workloads; by the noise rule (the "
        f"difference of the means exceeds the larger std over seeds): {tally('noise')}. Steps to target"
        f"{' including the prior runs' if claim.count_prior else ''}, paired (median difference, a miss = inf): "
        f"{tally('steps')}.",
    ]
    if with_prior:
        lines += [
            "",
            "Steps incl. prior: the method's best trial's steps plus every step of the runs it is built on "
            "(refined: its linear-decay run; transfer and same-lr: all their quarter-budget trials); the other "
            "method's tuning trials are not counted in either column.",
        ]
    return lines, _glance_row(claim, counts, named, few_seeds)


def _glance_row(
    claim: Claim, counts: dict[str, dict[str, int]], named: dict[str, list[str]], few_seeds: list[str]
) -> str:
    """The claim's row of the at-a-glance table: the verdicts' counts, the workloads better and worse on."""

    def short(kind: str) -> str:
        c = counts[kind]
        return f"{c['better']} / {c['tie']} / {c['worse']}"

    missing = counts["paired"]["n/a"]
    steps_note = f"; {missing} without a result" if missing else ""
    steps_note += f"; fewer than {MIN_PAIRED_SEEDS} common seeds: {', '.join(few_seeds)}" if few_seeds else ""
    return _row(
        [
            f"{claim.a} vs {claim.b}" + (" (steps incl. prior)" if claim.count_prior else ""),
            short("paired"),
            ", ".join(named["better"]) or "-",
            ", ".join(named["worse"]) or "-",
            short("noise"),
            short("steps") + steps_note,
        ]
    )


def _has_prior(result: MethodResult) -> bool:
    return result.steps_with_prior is not None


def _steps_per_seed(result: MethodResult, count_prior: bool) -> dict[int, float]:
    """Seed -> the chosen trial's steps to target (+inf: missed), plus its prior runs' steps with ``count_prior``."""
    return {
        seed: time_to_target(trial, "steps") + (float(trial.prior_steps or 0) if count_prior else 0.0)
        for seed, trial in result.chosen.items()
    }
