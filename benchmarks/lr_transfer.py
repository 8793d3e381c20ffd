"""Peak-lr transfer from a quarter of the budget, scored on a ``tuneless bench`` run of the methods ``linear``,
``transfer`` and ``same-lr`` (``linear-quarter`` comes with them).

Per workload and seed: the full-budget optimum of linear decay (the lr of its trial with the best final metric,
after method-fair tuning when the run had it), the lr that ``transfer`` used (the best quarter-budget lr times the
ratio of bound-optimal base lrs, Schaipp et al., arXiv 2501.18965) and the one ``same-lr`` used, each as a
distance in grid steps from that seed's optimum (``|log(lr / lr_opt)|`` over the mean log spacing of the
workload's grid as the run declared it; median over seeds). Then ``transfer``'s and ``same-lr``'s final metric
against tuned linear decay (per seed its best, mean and std over seeds): the benchmark's noise rule (a tie within
the larger std) and the paired verdict of ``tuneless bench tables`` (95% paired bootstrap, at least 5 seeds); and
the cost of ``transfer`` (the quarter-budget trials plus its one run) as a fraction of linear decay's tuning, in
train seconds and in steps.

    tuneless bench --suite quick --methods linear transfer same-lr --store S.sqlite --workers 2
    .venv/bin/python benchmarks/lr_transfer.py S.sqlite [--run-id ID] [--markdown]
"""

from __future__ import annotations

import argparse
import math
import statistics
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from tuneless.bench.catalog.workloads import resolve_workload
from tuneless.bench.record.rows import RunRow, Trial
from tuneless.bench.record.store import Store
from tuneless.bench.score.claims import claim_verdict
from tuneless.bench.score.paired import paired_comparison
from tuneless.bench.score.scoring import per_seed_final_metrics


def grid_steps(lr: float, optimum: float, grid: Sequence[float]) -> float:
    spacing = np.mean(np.diff(np.log(sorted(grid))))
    return abs(math.log(lr / optimum)) / spacing


def stats(values: list[float]) -> tuple[float, float]:
    return float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def declared_grids(run: RunRow) -> dict[str, tuple[float, ...]]:
    """Workload name -> the peak-lr grid the run declared for it (suite overrides, else the workload's own)."""
    config = run.config
    grids = {}
    for ref in config.workloads:
        overrides = {k: v for k, v in config.overrides.get(ref, {}).items() if k != "target"}
        workload = resolve_workload(ref, overrides)
        grids[workload.name] = tuple(workload.peak_lrs)
    return grids


def _verdicts(method: dict[int, float], linear: dict[int, float], failed: list[int], hib: bool) -> tuple[str, str]:
    """(paired, noise rule) of a method against tuned linear decay on the seeds where every method has a result;
    a seed where the method failed makes both "worse"."""
    if failed:
        return f"worse ({len(failed)} failed)", f"worse ({len(failed)} failed)"
    if not method:
        return "n/a", "n/a"
    paired = paired_comparison(method, linear, hib).verdict
    return paired, claim_verdict(*stats(list(method.values())), *stats(list(linear.values())), hib)


def analyse(trials: list[Trial], grids: dict[str, Sequence[float]]) -> list[dict]:
    ran = defaultdict(list)  # finished trials (done or failed): what was tried and what it cost
    for t in trials:
        if t.status in ("done", "failed"):
            ran[(t.workload, t.method, t.seed)].append(t)
    finals = per_seed_final_metrics(trials)
    rows = []
    for workload in dict.fromkeys(t.workload for t in trials):
        have = {m: finals.get(workload, {}).get(m, {}) for m in ("linear", "transfer", "same-lr")}
        ran_seeds = {m: {s for (w, m2, s) in ran if w == workload and m2 == m} for m in ("transfer", "same-lr")}
        seeds = sorted(set(have["linear"]) & ran_seeds["transfer"] & ran_seeds["same-lr"])
        if not seeds:
            continue
        failed = {m: [s for s in seeds if s not in have[m]] for m in ("transfer", "same-lr")}
        scored = [s for s in seeds if s in have["transfer"] and s in have["same-lr"]]  # every method has a result
        hib = ran[(workload, "linear", seeds[0])][0].higher_is_better
        sign = -1.0 if hib else 1.0
        grid = grids[workload]
        optima, edges, d_transfer, d_same = [], 0, [], []
        for s in seeds:
            linear = [t for t in ran[(workload, "linear", s)] if t.status == "done"]
            best = min(linear, key=lambda t: sign * t.final_metric)
            tried = sorted(t.peak_lr for t in ran[(workload, "linear", s)])  # a diverged lr was tried too
            optima.append(best.peak_lr)
            edges += best.peak_lr in (tried[0], tried[-1])
            d_transfer.append(grid_steps(ran[(workload, "transfer", s)][0].peak_lr, best.peak_lr, grid))
            d_same.append(grid_steps(ran[(workload, "same-lr", s)][0].peak_lr, best.peak_lr, grid))

        spent = [t for s in seeds for m in ("linear-quarter", "transfer") for t in ran[(workload, m, s)]]
        grid_spent = [t for s in seeds for t in ran[(workload, "linear", s)]]
        seconds = sum(t.train_seconds or 0.0 for t in grid_spent)
        steps = sum(t.budget_steps or 0 for t in grid_spent)
        on = {m: {s: have[m][s] for s in scored} for m in have}
        paired, verdict = _verdicts(on["transfer"], on["linear"], failed["transfer"], hib)
        same_paired, same_verdict = _verdicts(on["same-lr"], on["linear"], failed["same-lr"], hib)
        rows.append(
            {
                "workload": workload,
                "optimum": float(statistics.median_low(optima)),
                "edges": edges,
                "seeds": len(seeds),
                "transfer_lr": float(statistics.median_low([ran[(workload, "transfer", s)][0].peak_lr for s in seeds])),
                "same_lr": float(statistics.median_low([ran[(workload, "same-lr", s)][0].peak_lr for s in seeds])),
                "transfer_steps": float(np.median(d_transfer)),
                "same_steps": float(np.median(d_same)),
                "linear": stats(list(on["linear"].values())) if scored else (math.nan, math.nan),
                "transfer": stats(list(on["transfer"].values())) if scored else (math.nan, math.nan),
                "verdict": verdict,
                "same_verdict": same_verdict,
                "paired": paired,
                "same_paired": same_paired,
                "cost": sum(t.train_seconds or 0.0 for t in spent) / seconds if seconds else None,
                "step_cost": sum(t.budget_steps or 0 for t in spent) / steps if steps else None,
            }
        )
    return rows


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("store")
    parser.add_argument("--run-id", default=None)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    with Store(args.store, read_only=True) as store:
        run_id = args.run_id or store.latest_run_id()
        rows = analyse(store.trials(run_id), declared_grids(store.run(run_id)))
    if not rows:
        raise SystemExit("no workload has finished linear, transfer and same-lr trials")
    head = "| workload | tuned optimum | transferred lr (steps) | same lr (steps) | linear tuned | transfer | verdict "
    head += "(paired / noise) | same-lr verdict (paired / noise) | cost (seconds / steps) |"
    print(head if args.markdown else head.replace("|", " "))
    if args.markdown:
        print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        edge = f" (edge on {r['edges']} of {r['seeds']} seeds)" if r["edges"] else ""
        cells = [
            r["workload"],
            f"{r['optimum']:.3g}{edge}",
            f"{r['transfer_lr']:.3g} ({r['transfer_steps']:.2f})",
            f"{r['same_lr']:.3g} ({r['same_steps']:.2f})",
            f"{r['linear'][0]:.4g} ± {r['linear'][1]:.2g}",
            f"{r['transfer'][0]:.4g} ± {r['transfer'][1]:.2g}",
            f"{r['paired']} / {r['verdict']}",
            f"{r['same_paired']} / {r['same_verdict']}",
            f"{_percent(r['cost'])} / {_percent(r['step_cost'])}",
        ]
        print("| " + " | ".join(cells) + " |" if args.markdown else "  ".join(cells))
    n = len(rows)
    within = sum(r["transfer_steps"] <= 1.0 + 1e-9 for r in rows)
    within_same = sum(r["same_steps"] <= 1.0 + 1e-9 for r in rows)
    ok = sum(r["verdict"] in ("tie", "better") for r in rows)
    ok_same = sum(r["same_verdict"] in ("tie", "better") for r in rows)
    ok_paired = sum(r["paired"] in ("tie", "better") for r in rows)
    ok_same_paired = sum(r["same_paired"] in ("tie", "better") for r in rows)
    costs = [r["cost"] for r in rows if r["cost"] is not None]
    step_costs = [r["step_cost"] for r in rows if r["step_cost"] is not None]
    cost_text = (
        f"cost {100 * np.mean(costs):.0f}% of linear decay's tuning in train seconds on average (range "
        f"{100 * min(costs):.0f}-{100 * max(costs):.0f}%), {100 * np.mean(step_costs):.0f}% in steps"
        if costs and step_costs
        else "cost unknown (no train seconds stored)"
    )
    print(
        f"\n{n} workloads: transferred lr within one grid step of linear decay's tuned optimum on {within}/{n} "
        f"(same lr: {within_same}/{n}); mean distance {np.mean([r['transfer_steps'] for r in rows]):.2f} grid steps "
        f"(same lr: {np.mean([r['same_steps'] for r in rows]):.2f}); final metric not worse than tuned linear decay "
        f"on {ok_paired}/{n} by the paired rule, {ok}/{n} by the noise rule (same lr: {ok_same_paired}/{n} and "
        f"{ok_same}/{n}); {cost_text}; linear decay's best lr at the edge of the lrs it tried on "
        f"{sum(r['edges'] for r in rows)} of {sum(r['seeds'] for r in rows)} workload-seeds"
    )


if __name__ == "__main__":
    main()
