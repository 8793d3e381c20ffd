"""Peak-lr transfer from a quarter of the budget, scored on a ``tuneless bench`` run of the methods ``linear``,
``transfer`` and ``same-lr`` (``linear-quarter`` comes with them).

Per workload: the full-budget grid optimum of linear decay (the grid lr with the best final metric, mean over
seeds), the lr that ``transfer`` used (the best quarter-budget lr times the ratio of bound-optimal base lrs,
Schaipp et al., arXiv 2501.18965) and the one ``same-lr`` used, each as a distance in grid steps from the optimum
(``|log(lr / lr_opt)|`` over the grid's mean log spacing; median over seeds); then ``transfer``'s final metric
against the grid-tuned linear decay (per seed the grid's best, mean and std over seeds) with the benchmark's noise
rule (a tie when the difference is within the larger std), and its cost (train seconds of the quarter-budget grid
plus its one run) as a fraction of the grid's.

    tuneless bench --suite quick --methods linear transfer same-lr --store S.sqlite --workers 2
    .venv/bin/python benchmarks/lr_transfer.py S.sqlite [--run-id ID] [--markdown]
"""

from __future__ import annotations

import argparse
import math
from collections import defaultdict

import numpy as np

from tuneless.bench.store import Store
from tuneless.bench.tables import claim_verdict


def grid_steps(lr: float, optimum: float, grid: list[float]) -> float:
    spacing = np.mean(np.diff(np.log(sorted(grid))))
    return abs(math.log(lr / optimum)) / spacing


def stats(values: list[float]) -> tuple[float, float]:
    return float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def analyse(trials: list[dict]) -> list[dict]:
    by = defaultdict(list)
    for t in trials:
        by[(t["workload"], t["method"])].append(t)
    rows = []
    for workload in dict.fromkeys(t["workload"] for t in trials):
        linear = [t for t in by[(workload, "linear")] if t["status"] == "done"]
        transfer = [t for t in by[(workload, "transfer")] if t["status"] == "done"]
        same = [t for t in by[(workload, "same-lr")] if t["status"] == "done"]
        quarter = by[(workload, "linear-quarter")]
        if not (linear and transfer and same):
            continue
        hib = bool(linear[0]["higher_is_better"])
        grid = sorted({t["peak_lr"] for t in by[(workload, "linear")]})
        per_lr = defaultdict(list)
        for t in linear:
            per_lr[t["peak_lr"]].append(t["final_metric"])
        mean_by_lr = {lr: np.mean(v) for lr, v in per_lr.items()}
        pick = max if hib else min
        optimum = pick(mean_by_lr, key=mean_by_lr.get)
        seeds = sorted({t["seed"] for t in linear})
        best_linear = []
        for s in seeds:
            finals = [t["final_metric"] for t in linear if t["seed"] == s]
            best_linear.append(pick(finals))
        tr_final = [t["final_metric"] for t in transfer]
        lin_mean, lin_std = float(np.mean(best_linear)), float(np.std(best_linear, ddof=1)) if len(seeds) > 1 else 0.0
        tr_mean, tr_std = float(np.mean(tr_final)), float(np.std(tr_final, ddof=1)) if len(tr_final) > 1 else 0.0
        verdict = claim_verdict(tr_mean, tr_std, lin_mean, lin_std, hib)
        grid_cost = sum(t["train_seconds"] or 0.0 for t in by[(workload, "linear")])
        transfer_cost = sum(t["train_seconds"] or 0.0 for t in quarter) + sum(t["train_seconds"] for t in transfer)
        rows.append(
            {
                "workload": workload,
                "optimum": optimum,
                "at_edge": optimum in (grid[0], grid[-1]),
                "transfer_lr": float(np.median([t["peak_lr"] for t in transfer])),
                "same_lr": float(np.median([t["peak_lr"] for t in same])),
                "transfer_steps": float(np.median([grid_steps(t["peak_lr"], optimum, grid) for t in transfer])),
                "same_steps": float(np.median([grid_steps(t["peak_lr"], optimum, grid) for t in same])),
                "linear": (lin_mean, lin_std),
                "transfer": (tr_mean, tr_std),
                "verdict": verdict,
                "same_verdict": claim_verdict(*stats([t["final_metric"] for t in same]), lin_mean, lin_std, hib),
                "cost": transfer_cost / grid_cost,
                "metric": linear[0]["metric_name"],
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("store")
    parser.add_argument("--run-id", default=None)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    with Store(args.store) as store:
        run_id = args.run_id or store.latest_run_id()
        rows = analyse(store.trials(run_id))
    if not rows:
        raise SystemExit("no workload has finished linear, transfer and same-lr trials")
    head = "| workload | grid optimum | transferred lr (steps) | same lr (steps) | linear grid | transfer | verdict "
    head += "| same-lr verdict | cost |"
    print(head if args.markdown else head.replace("|", " "))
    if args.markdown:
        print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        edge = " (edge)" if r["at_edge"] else ""
        cells = [
            r["workload"],
            f"{r['optimum']:g}{edge}",
            f"{r['transfer_lr']:.3g} ({r['transfer_steps']:.2f})",
            f"{r['same_lr']:.3g} ({r['same_steps']:.2f})",
            f"{r['linear'][0]:.4g} ± {r['linear'][1]:.2g}",
            f"{r['transfer'][0]:.4g} ± {r['transfer'][1]:.2g}",
            r["verdict"],
            r["same_verdict"],
            f"{100 * r['cost']:.0f}%",
        ]
        print("| " + " | ".join(cells) + " |" if args.markdown else "  ".join(cells))
    n = len(rows)
    within = sum(r["transfer_steps"] <= 1.0 + 1e-9 for r in rows)
    within_same = sum(r["same_steps"] <= 1.0 + 1e-9 for r in rows)
    ok = sum(r["verdict"] in ("tie", "better") for r in rows)
    ok_same = sum(r["same_verdict"] in ("tie", "better") for r in rows)
    print(
        f"\n{n} workloads: transferred lr within one grid step of the full-budget optimum on {within}/{n} "
        f"(same lr: {within_same}/{n}); mean distance {np.mean([r['transfer_steps'] for r in rows]):.2f} grid steps "
        f"(same lr: {np.mean([r['same_steps'] for r in rows]):.2f}); final metric within noise of (or better than) "
        f"grid-tuned linear decay on {ok}/{n} (same lr: {ok_same}/{n}); "
        f"cost {100 * np.mean([r['cost'] for r in rows]):.0f}% of the grid's "
        f"train seconds on average (range {100 * min(r['cost'] for r in rows):.0f}-"
        f"{100 * max(r['cost'] for r in rows):.0f}%); {sum(r['at_edge'] for r in rows)} optima at the grid edge"
    )


if __name__ == "__main__":
    main()
