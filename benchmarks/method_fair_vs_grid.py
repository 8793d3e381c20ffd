"""Do the claims' verdicts change when every method is tuned to the same lr resolution instead of the coarse grid?

One run with method-fair tuning (``--lr-resolution``); scored twice: on all its trials, and on the grid's trials
alone (the trials whose peak lr is on the workload's grid: exactly what a ``--grid-only`` run trains for cosine
and linear; for refined, whose prior is the best linear trial, the grid-only scoring keeps the refined trials of
the tuned run's prior). Prints, per claim and workload, the chosen lrs and both verdicts (paired, noise rule).

    PYTHONPATH=src python benchmarks/method_fair_vs_grid.py --workload logreg-wine logreg-pima logreg-spam7 \\
        logreg-tissue --seeds 5 --store /tmp/fair.sqlite
"""

from __future__ import annotations

import argparse
import sys
import time

from tuneless.bench.benchmark import run_benchmark
from tuneless.bench.catalog.workloads import resolve_workload
from tuneless.bench.record.rows import Trial
from tuneless.bench.record.store import Store
from tuneless.bench.run.config import BenchConfig
from tuneless.bench.score.claims import claim_verdict
from tuneless.bench.score.paired import paired_comparison
from tuneless.bench.score.scoring import per_seed_final_metrics, score_trials

CLAIMS = (("linear", "cosine"), ("refined", "linear"))


def verdicts(trials: list[Trial], a: str, b: str) -> dict[str, tuple]:
    scored, finals = score_trials(trials), per_seed_final_metrics(trials)
    out = {}
    for workload in scored.workloads:
        ra, rb = scored.results[workload].get(a), scored.results[workload].get(b)
        if ra is None or rb is None:
            continue
        higher = bool(scored.workload_info[workload]["higher_is_better"])
        paired = paired_comparison(finals[workload][a], finals[workload][b], higher)
        noise = claim_verdict(
            ra.final_metric_mean, ra.final_metric_std, rb.final_metric_mean, rb.final_metric_std, higher
        )
        out[workload] = (ra.peak_lr, rb.peak_lr, paired, noise, ra.trials, rb.trials)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="quick")
    parser.add_argument("--workload", nargs="+", required=True)
    parser.add_argument("--methods", nargs="+", default=["cosine", "linear", "refined"])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--lr-resolution", type=float, default=1.5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--store", required=True)
    parser.add_argument("--resume", action="store_true", help="continue the store's latest run")
    args = parser.parse_args()

    start = time.perf_counter()
    if args.resume:
        run_id = run_benchmark(args.store, resume=True, workers=args.workers, progress=False)
    else:
        config = BenchConfig.from_options(
            args.suite, args.workload, args.methods, args.seeds, lr_resolution=args.lr_resolution
        )
        run_id = run_benchmark(args.store, config, workers=args.workers, progress=False)
    minutes = (time.perf_counter() - start) / 60
    with Store(args.store) as store:
        trials = store.trials(run_id)
        config = store.run(run_id).config
    grids = {}
    for ref in config.workloads:
        workload = resolve_workload(ref, config.overrides[ref])
        grids[workload.name] = set(workload.peak_lrs)
    on_grid = [t for t in trials if t.peak_lr in grids[t.workload]]
    print(f"run {run_id}: {len(trials)} trials ({len(on_grid)} on the grid), {minutes:.1f} min this sitting\n")
    for a, b in CLAIMS:
        if a not in config.methods or b not in config.methods:
            continue
        fair, coarse = verdicts(trials, a, b), verdicts(on_grid, a, b)
        print(f"### {a} vs {b}\n")
        print(f"| workload | grid: lr {a} / {b} | grid: {a} - {b} [95%] | grid: paired / noise | fair: lr {a} / {b} "
              f"| fair: {a} - {b} [95%] | fair: paired / noise | trials per seed {a} / {b} |")  # fmt: skip
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for workload, (la, lb, paired, noise, ta, tb) in fair.items():
            gla, glb, gpaired, gnoise, _, _ = coarse[workload]
            grid_interval = f"{gpaired.estimate:.3g} [{gpaired.low:.3g}, {gpaired.high:.3g}]"
            fair_interval = f"{paired.estimate:.3g} [{paired.low:.3g}, {paired.high:.3g}]"
            print(
                f"| {workload} | {gla:.4g} / {glb:.4g} | {grid_interval} | {gpaired.verdict} / {gnoise} "
                f"| {la:.4g} / {lb:.4g} | {fair_interval} | {paired.verdict} / {noise} | {ta} / {tb} |"
            )
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
