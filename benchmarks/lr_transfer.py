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
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from tuneless.bench.paired import paired_comparison
from tuneless.bench.scoring import per_seed_final_metrics
from tuneless.bench.store import Store
from tuneless.bench.tables import claim_verdict
from tuneless.bench.workloads import resolve_workload


def grid_steps(lr: float, optimum: float, grid: Sequence[float]) -> float:
    spacing = np.mean(np.diff(np.log(sorted(grid))))
    return abs(math.log(lr / optimum)) / spacing


def stats(values: list[float]) -> tuple[float, float]:
    return float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def declared_grids(run: dict) -> dict[str, tuple[float, ...]]:
    """Workload name -> the peak-lr grid the run declared for it (suite overrides, else the workload's own)."""
    config = run["config"]
    grids = {}
    for ref in config["workloads"]:
        overrides = {k: v for k, v in config["overrides"].get(ref, {}).items() if k != "target"}
        workload = resolve_workload(ref, overrides)
        grids[workload.name] = tuple(workload.peak_lrs)
    return grids


def analyse(trials: list[dict], grids: dict[str, Sequence[float]]) -> list[dict]:
    by = defaultdict(list)
    for t in trials:
        if t["status"] == "done":
            by[(t["workload"], t["method"], t["seed"])].append(t)
    finals = per_seed_final_metrics(trials)
    rows = []
    for workload in dict.fromkeys(t["workload"] for t in trials):
        seeds = sorted(
            {s for (w, m, s) in by if w == workload and m == "transfer"}
            & {s for (w, m, s) in by if w == workload and m == "linear"}
            & {s for (w, m, s) in by if w == workload and m == "same-lr"}
        )
        if not seeds:
            continue
        hib = bool(by[(workload, "linear", seeds[0])][0]["higher_is_better"])
        sign = -1.0 if hib else 1.0
        grid = grids[workload]
        optima, edges, d_transfer, d_same = [], 0, [], []
        for s in seeds:
            linear = by[(workload, "linear", s)]
            best = min(linear, key=lambda t: sign * t["final_metric"])
            tried = sorted(t["peak_lr"] for t in linear)
            optima.append(best["peak_lr"])
            edges += best["peak_lr"] in (tried[0], tried[-1])
            d_transfer.append(grid_steps(by[(workload, "transfer", s)][0]["peak_lr"], best["peak_lr"], grid))
            d_same.append(grid_steps(by[(workload, "same-lr", s)][0]["peak_lr"], best["peak_lr"], grid))
        linear_stats = stats([finals[workload]["linear"][s] for s in seeds])
        transfer_stats = stats([finals[workload]["transfer"][s] for s in seeds])
        same_stats = stats([finals[workload]["same-lr"][s] for s in seeds])
        linear_all = [t for s in seeds for t in by[(workload, "linear", s)]]
        quarter = [
            t for (w, m, s), ts in by.items() if w == workload and m == "linear-quarter" and s in seeds for t in ts
        ]
        transfer = [by[(workload, "transfer", s)][0] for s in seeds]
        rows.append(
            {
                "workload": workload,
                "optimum": float(np.median(optima)),
                "edges": edges,
                "seeds": len(seeds),
                "transfer_lr": float(np.median([t["peak_lr"] for t in transfer])),
                "same_lr": float(np.median([by[(workload, "same-lr", s)][0]["peak_lr"] for s in seeds])),
                "transfer_steps": float(np.median(d_transfer)),
                "same_steps": float(np.median(d_same)),
                "linear": linear_stats,
                "transfer": transfer_stats,
                "verdict": claim_verdict(*transfer_stats, *linear_stats, hib),
                "same_verdict": claim_verdict(*same_stats, *linear_stats, hib),
                "paired": paired_comparison(finals[workload]["transfer"], finals[workload]["linear"], hib).verdict,
                "same_paired": paired_comparison(finals[workload]["same-lr"], finals[workload]["linear"], hib).verdict,
                "cost": sum(t["train_seconds"] or 0.0 for t in quarter + transfer)
                / sum(t["train_seconds"] or 0.0 for t in linear_all),
                "step_cost": sum(t["budget_steps"] for t in quarter + transfer)
                / sum(t["budget_steps"] for t in linear_all),
            }
        )
    return rows


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
            f"{100 * r['cost']:.0f}% / {100 * r['step_cost']:.0f}%",
        ]
        print("| " + " | ".join(cells) + " |" if args.markdown else "  ".join(cells))
    n = len(rows)
    within = sum(r["transfer_steps"] <= 1.0 + 1e-9 for r in rows)
    within_same = sum(r["same_steps"] <= 1.0 + 1e-9 for r in rows)
    ok = sum(r["verdict"] in ("tie", "better") for r in rows)
    ok_same = sum(r["same_verdict"] in ("tie", "better") for r in rows)
    ok_paired = sum(r["paired"] in ("tie", "better") for r in rows)
    ok_same_paired = sum(r["same_paired"] in ("tie", "better") for r in rows)
    print(
        f"\n{n} workloads: transferred lr within one grid step of the full-budget optimum on {within}/{n} "
        f"(same lr: {within_same}/{n}); mean distance {np.mean([r['transfer_steps'] for r in rows]):.2f} grid steps "
        f"(same lr: {np.mean([r['same_steps'] for r in rows]):.2f}); final metric not worse than tuned linear decay "
        f"on {ok_paired}/{n} by the paired rule, {ok}/{n} by the noise rule (same lr: {ok_same_paired}/{n} and "
        f"{ok_same}/{n}); cost {100 * np.mean([r['cost'] for r in rows]):.0f}% of linear decay's tuning in train "
        f"seconds on average (range {100 * min(r['cost'] for r in rows):.0f}-{100 * max(r['cost'] for r in rows):.0f}%"
        f"), {100 * np.mean([r['step_cost'] for r in rows]):.0f}% in steps; linear decay's best lr at the edge of "
        f"the lrs it tried on {sum(r['edges'] for r in rows)} of {sum(r['seeds'] for r in rows)} workload-seeds"
    )


if __name__ == "__main__":
    main()
