"""How close can any one-run method that picks one peak lr per workload come to the self-tuning goal?

The goal (issue #26) compares a one-run method with a grid-tuned method on the benchmark's paired verdict, and the
grid's value on each seed is the best final metric over every lr tried *on that seed*: it picks up that seed's
noise too. This script measures the best a single lr can do: per workload and seed, the lr of ``--method`` that is
best on the *other* seeds (the geometric mean of their final metrics, over the lrs every seed tried: an lr known
in hindsight, leave one seed out), scored on the held-out seed; then the paired verdict (95% paired bootstrap, at
least 5 seeds, as ``tuneless bench tables``) of those per-seed values against ``--reference``'s per-seed best.
A workload this hindsight lr loses on, a real one-run method of that shape loses on too (up to noise).

    tuneless bench --suite full --methods cosine linear --seeds 5 --store S.sqlite
    .venv/bin/python benchmarks/one_lr_ceiling.py S.sqlite [--method linear] [--reference cosine] [--run-id ID]
"""

from __future__ import annotations

import argparse
import math
from collections import defaultdict

from tuneless.bench.record.rows import Trial
from tuneless.bench.record.store import Store
from tuneless.bench.score.paired import paired_comparison
from tuneless.bench.score.scoring import per_seed_final_metrics


def _pooled(badness: list[float], higher_is_better: bool) -> float:
    """The seeds' pooled badness of one lr (lower is better): minus the mean metric when higher is better, else the
    log of the geometric mean (losses and gaps span decades); infinite when a seed failed there."""
    if any(not math.isfinite(b) for b in badness):
        return math.inf
    if higher_is_better:
        return sum(badness) / len(badness)
    return sum(math.log(max(b, 1e-300)) for b in badness) / len(badness)


def hindsight_values(trials: list[Trial], method: str) -> dict[str, tuple[dict[int, float], bool]]:
    """Workload -> (seed -> the held-out seed's final metric at the leave-one-seed-out best lr, higher is better).

    A failed or non-finite trial counts as infinitely bad. Workloads with fewer than 2 seeds are left out."""
    runs: dict[str, dict[float, dict[int, float]]] = defaultdict(lambda: defaultdict(dict))
    higher: dict[str, bool] = {}
    for t in trials:
        if t.method != method or t.status not in ("done", "failed"):
            continue
        higher[t.workload] = bool(t.higher_is_better)
        sign = -1.0 if t.higher_is_better else 1.0
        value = t.final_metric if t.status == "done" and t.final_metric is not None else math.nan
        badness = sign * value if math.isfinite(value) else math.inf
        runs[t.workload][round(t.peak_lr, 12)][t.seed] = badness
    out = {}
    for workload, by_lr in runs.items():
        seeds = sorted({s for per_seed in by_lr.values() for s in per_seed})
        common = {lr: per_seed for lr, per_seed in by_lr.items() if set(per_seed) == set(seeds)}
        if len(seeds) < 2 or not common:
            continue
        sign = -1.0 if higher[workload] else 1.0
        values = {}
        for held_out in seeds:
            others = [s for s in seeds if s != held_out]
            best_lr = min(sorted(common), key=lambda lr: _pooled([common[lr][s] for s in others], higher[workload]))
            value = common[best_lr][held_out]
            if math.isfinite(value):
                values[held_out] = sign * value
        out[workload] = (values, higher[workload])
    return out


def tally(pairs: dict[str, tuple[dict[int, float], dict[int, float], bool]]) -> tuple[dict[str, str], str]:
    """Per workload the paired verdict of a against b, and the counts as one line."""
    verdicts = {w: paired_comparison(a, b, higher).verdict for w, (a, b, higher) in pairs.items()}
    counts = {v: sum(1 for x in verdicts.values() if x == v) for v in ("better", "tie", "worse", "n/a")}
    line = (
        f"tie or better on {counts['better'] + counts['tie']} of {len(verdicts)} "
        f"({counts['better']} / {counts['tie']} / {counts['worse']}, n/a {counts['n/a']})"
    )
    return verdicts, line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("store")
    parser.add_argument("--method", default="linear", help="the grid method whose lrs are picked (default linear)")
    parser.add_argument("--reference", default="cosine", help="the grid-tuned reference (default cosine)")
    parser.add_argument(
        "--one-run", nargs="*", default=[], metavar="METHOD",
        help="one-run methods of the run, each also compared with --reference at its leave-one-seed-out best lr",
    )  # fmt: skip
    parser.add_argument("--run-id", default=None)
    args = parser.parse_args()
    with Store(args.store, read_only=True) as store:
        run_id = args.run_id or store.latest_run_id()
        trials = store.trials(run_id)
    picked = hindsight_values(trials, args.method)
    reference = hindsight_values(trials, args.reference)
    finals = per_seed_final_metrics(trials)
    if not picked or not reference:
        raise SystemExit(f"run {run_id}: {args.method} and {args.reference} need trials on 2 or more seeds")
    columns = {
        f"{args.method} (hindsight lr) vs {args.reference} tuned per seed": {
            w: (values, finals.get(w, {}).get(args.reference, {}), higher) for w, (values, higher) in picked.items()
        }
    }
    for method in args.one_run:
        columns[f"{method} vs {args.reference} at its hindsight lr"] = {
            w: (finals.get(w, {}).get(method, {}), values, higher) for w, (values, higher) in reference.items()
        }
    results = {title: tally(pairs) for title, pairs in columns.items()}
    print(f"run {run_id}: paired 95% verdicts on the final metric; hindsight lr = best on the other seeds")
    print("| workload | " + " | ".join(columns) + " |")
    print("| --- |" + " --- |" * len(columns))
    for workload in picked:
        print(f"| {workload} | " + " | ".join(results[t][0].get(workload, "n/a") for t in columns) + " |")
    print("| **tie or better** | " + " | ".join(results[t][1] for t in columns) + " |")


if __name__ == "__main__":
    main()
