"""``report.html`` of a benchmark run: a self-contained page (inline style; the PNGs referenced by relative path)."""

from __future__ import annotations

import datetime
import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..record.rows import RunRow, Trial
from ..score.paired import MIN_PAIRED_SEEDS
from ..score.scoring import CPU_MEASURE, RunScores, best_methods, best_scores, method_summaries
from ..score.self_tuning import self_tuning_scores
from .formatting import count, direction, format_mean_std, format_number, format_trial_counts, slug

__all__ = ["html_page"]


STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th { background: #f2f2f2; } td:first-child, th:first-child { text-align: left; }
td.best { font-weight: bold; background: #e3f5e1; }
td.text { text-align: left; }
td.edge { background: #fff1c2; }
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


def _scores_section(scored: RunScores, descriptions: Mapping[str, str], trials: list[Trial]) -> str:
    best = {measure: best_scores(scores) for measure, scores in scored.scores.items()}
    cpu = CPU_MEASURE in scored.scores  # a run that recorded each trial's CPU time
    n = len(scored.workloads)
    rows = []
    for method, summary in method_summaries(scored).items():
        edge = f"{summary.lr_at_edge} / {summary.lr_grids}" if summary.lr_grids else "no grid"
        cpu_cell = (
            [(f"{summary.scores[CPU_MEASURE]:.3f}", "best" if method in best[CPU_MEASURE] else "")] if cpu else []
        )
        rows.append(
            [
                (method, ""),
                (f"{summary.scores['seconds']:.3f}", "best" if method in best["seconds"] else ""),
                *cpu_cell,
                (f"{summary.scores['steps']:.3f}", "best" if method in best["steps"] else ""),
                (format_trial_counts(summary), ""),
                (f"{summary.targets_reached} / {n}", ""),
                (", ".join(sorted({t.optimizer or "?" for t in trials if t.method == method})), "text"),
                (descriptions.get(method, ""), "text"),
                (edge, "edge" if summary.lr_at_edge else ""),
            ]
        )
    header = [
        "method",
        "score (time)",
        *(["score (CPU time)"] if cpu else []),
        "score (steps)",
        "trials per workload and seed",
        "targets reached",
        "optimizer",
        "what it is",
        "best lr at grid edge",
    ]
    return f"""
<h2>Benchmark scores</h2>
<p>Each workload has a <b>target</b>: a value of its evaluated metric (validation loss, accuracy, loss gap...) that
counts as "trained". A method's <b>time to target</b> on a workload is the training time (evaluation not counted)
until its first evaluation that meets the target, of the best trial in its tuning grid (each seed separately), then
the median over seeds. A method that never reaches the target has an infinite time. The <b>score</b> (AlgoPerf, Dahl
et al. 2023) is the area under its performance profile (next section) between 1 and {scored.r_max:g}, divided by
{scored.r_max - 1:g}: 1 means fastest on every workload; a workload counts 0 where the method missed the target or
was more than {scored.r_max:g} times slower than the fastest method. "Time" uses training seconds (wall clock: it moves
with the machine's load, by up to 0.08 in score under a competing load), "CPU time" each trial's own CPU seconds over
its training steps (up to 0.02 under the same load: docs/bench.md), "steps" optimizer steps (independent of the
machine: read them first). The trial count is what the method needs per workload and seed: a tuning
grid of peak learning rates, a fixed list of configurations, or a single self-tuning run (a range when the grids of
the workloads differ in size). Scores count a method's own trials only; for a method built on a prior run (refined),
the workload tables below also give its time including that run. "Best lr at grid edge" counts the workloads (of
those where the method tuned a peak-lr grid) on which a chosen peak lr (the median over seeds of the best by steps to
target, or of the best by final metric) is the lowest or highest of the lrs tried: there
the best lr may lie outside the grid, and the method's result is not evidence until the grid is widened.</p>
{_table(header, rows)}
"""


def _self_tuning_section(scored: RunScores, figure: str | None) -> str:
    """The one-run methods' scores among themselves (score/self_tuning.py) and their figure against the grid-tuned
    methods; empty with fewer than two one-run methods."""
    scores = self_tuning_scores(scored)
    if not scores:
        return ""
    names = {"steps": "steps", "seconds": "time", CPU_MEASURE: "CPU time"}
    order = sorted(scores["steps"], key=lambda m: -scores["steps"][m])
    rows = [[(m, ""), *((f"{scores[k][m]:.3f}", "") for k in scores)] for m in order]
    return f"""
<h3>Self-tuning track</h3>
<p>The methods that ran one trial per workload and seed (no grid, no prior run; a pilot, if any, inside the trial),
scored among themselves as AlgoPerf scores its self-tuning submissions: each workload's ratios are to the best of
these methods, not to the grid-tuned ones.</p>
{_table(["method", *(f"score ({names[k]})" for k in scores)], rows)}
{"" if figure is None else f'<img src="{_e(figure)}" alt="one-run methods against grid-tuned lrs">'}
"""


def _workload_section(workload: str, scored: RunScores, figure: str) -> str:
    info = scored.workload_info[workload]
    results = scored.results[workload]
    higher = bool(info["higher_is_better"])
    best_final = best_methods({m: r.final_metric_mean for m, r in results.items()}, higher)
    best_steps = best_methods({m: r.steps_to_target for m, r in results.items()}, False)
    best_seconds = best_methods({m: r.seconds_to_target for m, r in results.items()}, False)
    with_prior = any(r.seconds_with_prior is not None for r in results.values())
    header = ["method", "peak lr", "trials", "steps to target", "seconds to target", "ratio (steps)", "ratio (time)"]
    header += ["seconds incl. prior run", "steps incl. prior run"] if with_prior else []
    header += [f"final {info['metric_name']} (mean ± std)"]
    rows = []
    for method, result in results.items():
        row = [
            (method, ""),
            (format_number(result.peak_lr, 3), "edge" if result.edge and result.edge[0] == result.peak_lr else ""),
            (str(result.trials), ""),
            (format_number(result.steps_to_target), "best" if method in best_steps else ""),
            (format_number(result.seconds_to_target, 3), "best" if method in best_seconds else ""),
            (format_number(scored.ratios["steps"][workload][method], 3), ""),
            (format_number(scored.ratios["seconds"][workload][method], 3), ""),
        ]
        if with_prior:
            row += [(format_number(result.seconds_with_prior, 3), ""), (format_number(result.steps_with_prior), "")]
        row.append(
            (format_mean_std(result.final_metric_mean, result.final_metric_std), "best" if method in best_final else "")
        )
        rows.append(row)
    reached = any(math.isfinite(r.steps_to_target) for r in results.values())
    target = "no target set" if info["target"] is None else f"target {info['target']:.4g}"
    seeds = max(r.seeds for r in results.values())
    notes = "" if reached else " <b>No method reached the target on this workload.</b>"
    if with_prior:
        notes += " Columns 'incl. prior run' add the full cost of the run a method was built on (refined: the best "
        notes += "linear-decay trial of the same seed)."
    edges = [f"{m} ({format_number(r.edge[0], 3)}, the {r.edge[1]})" for m, r in results.items() if r.edge]
    if edges:
        notes += " <b>Best peak lr at the edge of its grid</b> (shaded; the best lr may lie outside): "
        notes += f"{_e(', '.join(edges))}."
    facts = f"<b>{_e(info['metric_name'])}</b> ({direction(higher)}), {_e(target)}"
    return f"""
<h3 id="{_e(slug(workload))}">{_e(workload)}</h3>
<p>Metric {facts}, budget {_e(info["budget_steps"])} optimizer steps, {count(seeds, "seed")}.{notes}</p>
{_table(header, rows)}
<img src="{_e(figure)}" alt="learning curves on {_e(workload)}">
"""


def _failures_section(trials: list[Trial]) -> str:
    failed = [t for t in trials if t.status == "failed"]
    if not failed:
        return "<h2>Failed trials</h2><p>None: every trial ran to its budget.</p>"
    rows = [
        [
            (t.workload, ""),
            (t.method, ""),
            (str(t.seed), ""),
            (format_number(t.peak_lr, 3), ""),
            (next(iter((t.error or "").strip().splitlines()), ""), "text"),
        ]
        for t in failed
    ]
    return f"""
<h2>Failed trials ({len(failed)})</h2>
<p>A failed trial (diverged or crashed) counts as a miss and has no final metric; the other trials of the grid
still count.</p>
{_table(["workload", "method", "seed", "peak lr", "reason"], rows)}
"""


def _method_descriptions(methods: Sequence[str], method_info: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """The stored description of each method (the run's ``method_info``; "" for a method it does not know)."""
    return {m: method_info[m]["description"] if m in method_info else "" for m in methods}


def _schedules_section(schedules_file: str | None, schedule_notes: Sequence[str]) -> str:
    if schedules_file is None:
        schedules = "<p>No schedule was recorded.</p>"
    else:
        schedules = f'<img src="{_e(schedules_file)}" alt="learning-rate schedules">'
    notes = "".join(f"<li>{_e(n)}</li>" for n in schedule_notes)
    return f"""<h2>Learning-rate schedules used</h2>
<p>The multiplier of the peak learning rate against training progress. Methods that adapt their own step size
(schedule-free, Mechanic) show the schedule they were given, not their effective step size.</p>
{schedules}
{f"<ul>{notes}</ul>" if notes else ""}"""


def _sizes(scored: RunScores, trials: list[Trial], seeds: int) -> str:
    """ "3 workloads, 2 methods, 1 seed, 40 trials", and how many are unfinished."""
    sizes = ", ".join(
        count(n, noun)
        for n, noun in ((len(scored.workloads), "workload"), (len(scored.methods), "method"), (seeds, "seed"))
    )
    sizes += f", {count(len(trials), 'trial')}"
    unfinished = sum(1 for t in trials if t.status == "running")
    if unfinished:
        sizes += f" (<b>{unfinished} unfinished</b>: this report covers the finished ones)"
    return sizes


def _claims_section(claims_file: str | None, seeds: int) -> str:
    """The claims figure (``tables.claim_figure``) with how to read it, or nothing when no claim's pair ran."""
    if claims_file is None:
        return ""
    few = ""
    if seeds < MIN_PAIRED_SEEDS:
        few = (
            f" With {count(seeds, 'seed')} in the run every verdict is a tie: a paired verdict needs at least "
            f"{MIN_PAIRED_SEEDS} (<code>--seeds {MIN_PAIRED_SEEDS}</code>)."
        )
    return f"""<h2>The claims, seed by seed</h2>
<p>For each claim whose two methods ran (linear decay vs cosine, refined vs linear decay, ...): per workload, the
mean over seeds of the paired difference of the final metric (same seed: same data order and initialisation), in %
of the second method's metric, signed so that right of 0 means the first method is better, with its 95% paired
bootstrap interval; green where the interval says better, red worse, grey tie.{few} <code>tuneless bench
tables</code> prints the numbers.</p>
<img src="{_e(claims_file)}" alt="paired differences per claim and workload">"""


def _lr_section(lr_file: str | None) -> str:
    if lr_file is None:
        return ""
    return f"""<h2>Final metric against the peak lr</h2>
<p>How much each method's result depends on its peak lr, and where its best lr lies: the final metric at the
budget for every lr a method ran (median over seeds, a ring on the best; each seed as a dot), for the methods whose
lr is a real step size (not Mechanic, Prodigy or the NAdamW list). A flat basin costs little tuning; methods that
take one lr per seed from a prior run (lr transfer) are diamonds at the lrs they chose.</p>
<img src="{_e(lr_file)}" alt="final metric against the peak lr per workload">"""


def html_page(
    run: RunRow,
    scored: RunScores,
    trials: list[Trial],
    curve_files: Mapping[str, str],
    schedules_file: str | None,
    schedule_notes: Sequence[str],
    claims_file: str | None = None,
    lr_file: str | None = None,
    *,
    method_info: Mapping[str, Mapping[str, Any]],
    self_tuning_file: str | None = None,
) -> str:
    """The report's page; ``method_info``: the run's stored ``method_info`` (what it says of each method);
    ``self_tuning_file``: the self-tuning track's figure (``self_tuning_figure``), if drawn."""
    created = datetime.datetime.fromtimestamp(run.created, tz=datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    seeds = max(r.seeds for row in scored.results.values() for r in row.values())
    descriptions = _method_descriptions(scored.methods, method_info)
    toc = " · ".join(f'<a href="#{_e(slug(w))}">{_e(w)}</a>' for w in scored.workloads)
    workloads = "".join(_workload_section(w, scored, curve_files[w]) for w in scored.workloads)
    sizes = _sizes(scored, trials, seeds)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>tuneless bench: {_e(run.run_id)}</title>
<style>{STYLE}</style></head><body>
<h1>tuneless bench report</h1>
<p>Run <code>{_e(run.run_id)}</code>, suite <b>{_e(run.suite)}</b>, started {created}.
{sizes}.
Numbers also in <a href="results.json">results.json</a>.</p>
{_scores_section(scored, descriptions, trials)}
{_self_tuning_section(scored, self_tuning_file)}
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
{_lr_section(lr_file)}
{_claims_section(claims_file, run.config.seeds)}
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
{_schedules_section(schedules_file, schedule_notes)}
{_failures_section(trials)}
</body></html>
"""
