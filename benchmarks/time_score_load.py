"""Does the benchmark's time score survive load? The same trials twice, once with a competing CPU load beside them.

Runs a suite (default: the quick suite's workloads, grid methods, no method-fair tuning: the time score does not
depend on how many lrs are tried) twice into one store: run A as the machine is, run B with ``--load`` busy
processes (pure-Python loops, default: one per core) started beside it. Both runs train the same trials (same seeds,
same lrs; steps to target must be identical, which the script checks), so any difference in the scores is the
clock's. It prints, per method, the benchmark score by wall seconds and by CPU seconds in both runs, the largest
difference of each, and the median over (workload, method) of the ratio B/A of the times to target.

    PYTHONPATH=src python benchmarks/time_score_load.py                       # the quick suite (~2 x 8 min quiet)
    PYTHONPATH=src python benchmarks/time_score_load.py --workload logreg-wine logreg-digits lm-stdlib \\
        --methods constant cosine linear wsd --seeds 2                          # a subset
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def _spin() -> None:
    while True:
        pass


def _run(store: Path, args: argparse.Namespace, load: int) -> tuple[str, float]:
    from tuneless.bench.benchmark import run_benchmark
    from tuneless.bench.run.config import BenchConfig

    config = BenchConfig.from_options(args.suite, args.workload, args.methods, args.seeds, lr_resolution=None)
    spinners = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(load)]
    for spinner in spinners:
        spinner.start()
    start = time.perf_counter()
    try:
        run_id = run_benchmark(store, config, workers=args.workers, progress=False, say=lambda _: None)
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.join()
    return run_id, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="quick")
    parser.add_argument("--workload", nargs="+", help="instead of the suite's workloads")
    parser.add_argument("--methods", nargs="+", default=["constant", "cosine", "linear", "wsd", "rex", "schedulefree"])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--load", type=int, default=os.cpu_count() or 2, help="busy processes beside run B")
    parser.add_argument("--store", help="SQLite store (default: a temporary file)")
    parser.add_argument("--json", help="also write the numbers to this JSON file")
    args = parser.parse_args()

    from tuneless.bench.record.rows import Trial
    from tuneless.bench.record.store import Store
    from tuneless.bench.score.scoring import CPU_MEASURE, score_trials

    store = Path(args.store or tempfile.mkdtemp(prefix="time-score-load-")) / "runs.sqlite"
    quiet_id, quiet_wall = _run(store, args, 0)
    loaded_id, loaded_wall = _run(store, args, args.load)
    with Store(store) as opened:
        quiet_trials, loaded_trials = opened.trials(quiet_id), opened.trials(loaded_id)

    def outcomes(trials: list[Trial]) -> list[tuple]:
        return sorted((t.workload, t.method, t.seed, t.peak_lr, t.steps_to_target) for t in trials)

    if outcomes(quiet_trials) != outcomes(loaded_trials):
        print("the two runs' trials differ in steps to target: not the same trials", file=sys.stderr)
        return 1
    quiet, loaded = score_trials(quiet_trials), score_trials(loaded_trials)
    report: dict = {"trials": len(quiet_trials), "load_processes": args.load, "cores": os.cpu_count()}
    report["wall_minutes"] = {"A": quiet_wall / 60, "B": loaded_wall / 60}
    print(f"{len(quiet_trials)} trials per run; run A {quiet_wall / 60:.1f} min, run B (with {args.load} busy "
          f"processes) {loaded_wall / 60:.1f} min on {os.cpu_count()} cores\n")  # fmt: skip
    print("| method | seconds A | seconds B | CPU seconds A | CPU seconds B |")
    print("| --- | --- | --- | --- | --- |")
    for method in quiet.methods:
        cells = [f"{run.scores[m][method]:.3f}" for m in ("seconds", CPU_MEASURE) for run in (quiet, loaded)]
        print(f"| {method} | {' | '.join(cells)} |")
    print()
    for measure, column in (("seconds", "seconds_to_target"), (CPU_MEASURE, "cpu_seconds_to_target")):
        gap = max(abs(quiet.scores[measure][m] - loaded.scores[measure][m]) for m in quiet.methods)
        ratios = []
        for workload in quiet.workloads:
            for method, result in quiet.results[workload].items():
                a = getattr(result, column)
                b = getattr(loaded.results[workload][method], column)
                if a and b and math.isfinite(a) and math.isfinite(b):
                    ratios.append(b / a)
        median_ratio = statistics.median(ratios) if ratios else math.nan
        report[measure] = {
            "largest_score_difference": gap,
            "median_time_ratio_B_over_A": median_ratio,
            "scores_A": quiet.scores[measure],
            "scores_B": loaded.scores[measure],
        }
        print(f"{measure}: largest score difference between the runs {gap:.3f}; median time-to-target ratio "
              f"B/A {median_ratio:.2f} over {len(ratios)} (workload, method) pairs")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
