"""The claims tables of docs/results.md for online refinement, from a ``tuneless bench`` store.

For each online method of the run (``refined-online*``): against linear decay (final metric with the noise rule of
``tuneless bench tables``: a difference counts when it exceeds the larger std over seeds; steps to target), and
against offline ``refined`` counted with its prior linear-decay run (steps incl. prior). Also the steps scores.

    .venv/bin/python benchmarks/online_claims.py --store out/quick.sqlite [--run-id ID]
"""

from __future__ import annotations

import argparse

from tuneless.bench.scoring import score_trials
from tuneless.bench.store import Store
from tuneless.bench.tables import claim_verdict


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return "miss" if value == float("inf") else f"{value:.4g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--run-id", default=None)
    args = parser.parse_args()
    with Store(args.store) as store:
        run_id = args.run_id or store.latest_run_id()
        scored = score_trials(store.trials(run_id))
    print(f"Run `{run_id}`.\n")
    print("| method | score (steps) |\n| --- | --- |")
    for method in sorted(scored.methods, key=lambda m: -scored.scores["steps"][m]):
        print(f"| {method} | {scored.scores['steps'][method]:.3f} |")
    online = [m for m in scored.methods if m.startswith("refined-online")]
    for method in online:
        for other in ("linear", "cosine", "refined"):
            if other not in scored.methods:
                continue
            prior = other == "refined"
            print(f"\n#### {method} vs {other}{' (counted with its prior run)' if prior else ''}\n")
            extra = ["steps refined incl. prior"] if prior else []
            cells = ["workload", f"final {method}", f"final {other}", "verdict", f"steps {method}", f"steps {other}"]
            print("| " + " | ".join(cells + extra) + " |")
            print("|" + " --- |" * (6 + len(extra)))
            counts = {"better": 0, "tie": 0, "worse": 0, "n/a": 0}
            for workload in scored.workloads:
                a, b = scored.results[workload].get(method), scored.results[workload].get(other)
                if a is None or b is None:
                    continue
                verdict = claim_verdict(
                    a.final_metric_mean,
                    a.final_metric_std,
                    b.final_metric_mean,
                    b.final_metric_std,
                    bool(scored.workload_info[workload]["higher_is_better"]),
                )
                counts[verdict] += 1
                row = [workload, _num(a.final_metric_mean), _num(b.final_metric_mean), verdict]
                row += [_num(a.steps_to_target), _num(b.steps_to_target)]
                row += [_num(b.steps_with_prior)] if prior else []
                print("| " + " | ".join(row) + " |")
            print(
                f"\n{method} vs {other}: better on {counts['better']}, tie on {counts['tie']}, worse on "
                f"{counts['worse']} workloads (a difference counts when it exceeds the larger std over seeds)."
            )


if __name__ == "__main__":
    main()
