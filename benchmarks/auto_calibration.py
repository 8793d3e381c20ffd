"""Write tuneless.auto's calibration table from a benchmark store: best lrs of the grid methods + the pilot's cap.

For every workload of the store's run (suite overrides applied, as the run had them) this takes, per grid method,
the best peak lr by final metric of each seed (the claims' measure), and their geometric median over seeds; then it
runs the pilot of ``tuneless.torch.AutoLR`` (the same code the one-run methods use) on the same seeds and takes the
geometric medians of its cap and min-loss lr. The rows go to ``src/tuneless/auto/calibration.json`` (or
``--output``); the one-run methods read them leave-one-workload-out (tuneless.auto.calibration).

    .venv/bin/python benchmarks/auto_calibration.py --store out/bench.sqlite            # the quick suite's run
    .venv/bin/python benchmarks/auto_calibration.py --store full.sqlite --merge          # add another suite's rows

Rows are keyed by (workload, budget_steps): ``--merge`` keeps the rows of other horizons and workloads.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import sqlite3
import sys
import warnings
from pathlib import Path

import torch
from tuneless.auto.calibration import CALIBRATION_FILE, geometric_median
from tuneless.bench.catalog.one_run import one_run_optimizer
from tuneless.bench.catalog.optimizers import make_optimizer
from tuneless.bench.catalog.suites import get_suite
from tuneless.bench.catalog.workloads import resolve_workload
from tuneless.torch.auto import AutoLR

GRID_METHODS = ("linear", "cosine", "schedulefree")


def best_lrs(store: Path) -> tuple[str, dict[str, dict[str, list[float]]]]:
    """The run's suite and, per workload and grid method, each seed's best peak lr by final metric."""
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    (suite,) = db.execute("select suite from runs order by created desc limit 1").fetchone()
    rows = db.execute(
        "select workload, method, seed, peak_lr, final_metric, higher_is_better from trials "
        f"where status = 'done' and method in ({','.join('?' * len(GRID_METHODS))})",
        GRID_METHODS,
    ).fetchall()
    trials: dict[tuple[str, str, int], list[tuple[float, float, int]]] = collections.defaultdict(list)
    for workload, method, seed, lr, final, higher in rows:
        if final is not None and math.isfinite(final):
            trials[(workload, method, seed)].append((lr, final, higher))
    best: dict[str, dict[str, list[float]]] = collections.defaultdict(lambda: collections.defaultdict(list))
    for (workload, method, _seed), ts in sorted(trials.items()):
        pick = max if ts[0][2] else min
        best[workload][method].append(pick(ts, key=lambda t: t[1])[0])
    return suite, best


def pilot_features(workload, seed: int, method: str) -> dict[str, float]:
    """What AutoLR's pilot measures on ``workload`` from ``seed``'s initial weights with the optimizer of the one-run
    method calibrated on grid method ``method`` (ratio 1: only the pilot)."""
    torch.manual_seed(seed)
    model, data = workload.build(seed, torch.device("cpu"))
    spec = one_run_optimizer(method, workload)
    optimizer = make_optimizer(spec, model.parameters(), 1.0, workload.budget_steps)
    if hasattr(optimizer, "train"):  # schedule-free: as the runner does
        optimizer.train()
    auto = AutoLR(optimizer, workload.budget_steps, workload.optimizer_family, ratio=1.0, model=model)
    for step in range(auto.pilot_steps):
        loss = workload.train_loss(model, data, step)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        auto.step(loss)
    return auto.result.features


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", required=True, type=Path)
    parser.add_argument("--output", type=Path, default=CALIBRATION_FILE)
    parser.add_argument("--merge", action="store_true", help="keep the output's rows of other (workload, steps)")
    parser.add_argument("--seeds", type=int, default=None, help="pilot seeds (default: the seeds with grid results)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    suite_name, best = best_lrs(args.store)
    suite = get_suite(suite_name)
    rows = []
    for name, per_method in best.items():
        workload = resolve_workload(name, suite.workloads.get(name))
        seeds = args.seeds or max(len(v) for v in per_method.values())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pilots = {m: [pilot_features(workload, s, m) for s in range(seeds)] for m in sorted(per_method)}
        row = {
            "workload": name,
            "family": workload.optimizer_family,
            "budget_steps": workload.budget_steps,
            "best_lr": {m: geometric_median(lrs) for m, lrs in sorted(per_method.items())},
            "pilot": {m: {f: geometric_median(p[f] for p in ps) for f in ps[0]} for m, ps in pilots.items()},
            "seeds": seeds,
            "suite": suite_name,
        }
        rows.append(row)
        print(
            f"{name:24s} "
            + "  ".join(f"{m}: best {v:.4g} cap {row['pilot'][m]['cap']:.4g}" for m, v in row["best_lr"].items())
        )
    if args.merge and args.output.exists():
        keep = {(r["workload"], r["budget_steps"]) for r in rows}
        old = json.loads(args.output.read_text())["rows"]
        rows = [r for r in old if (r["workload"], r["budget_steps"]) not in keep] + rows
    note = (
        "Written by benchmarks/auto_calibration.py: per workload and horizon, the grid methods' best peak lr by final "
        "metric (geometric median over seeds) and AutoLR's pilot features (cap, min-loss lr; geometric medians over "
        "the same seeds)."
    )
    args.output.write_text(json.dumps({"note": note, "rows": rows}, indent=1) + "\n")
    print(f"wrote {len(rows)} rows to {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
