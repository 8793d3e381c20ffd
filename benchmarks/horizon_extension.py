"""Horizon extension against retraining from scratch, on the workloads of a ``tuneless bench`` run of the methods
``linear``, ``transfer`` and ``same-lr``.

Per workload and seed: the best quarter-budget linear-decay trial of the run (``linear-quarter``, chosen by the
benchmark's rule) is trained again to its end (``T/4`` steps) and checkpointed; a fresh optimizer and
``ScheduleLR`` resume from the checkpoint under ``extend_schedule(schedule, T/4, T/4, T, "linear")`` (same peak lr;
the new steps run ``rho`` times a new linear decay, ``rho`` keeping the bound-optimal base lr of the tuned run,
Schaipp et al., arXiv 2501.18965) to the full budget ``T``. Its final metric is compared with the run's ``transfer``
trial (retrained from scratch at ``T`` with the transferred lr), ``same-lr`` and the grid-tuned linear decay
(per seed the grid's best; mean and std over seeds), by the benchmark's noise rule and by the paired 95% bootstrap
interval of ``tuneless bench tables`` (a verdict needs at least 5 seeds). Extension costs ``3T/4`` new steps,
retraining ``T``.

    .venv/bin/python benchmarks/horizon_extension.py S.sqlite [--run-id ID] [--cache FILE]
"""

from __future__ import annotations

import argparse
import io
import json
import warnings
from pathlib import Path

import numpy as np

import torch
from tuneless.bench.catalog.optimizers import make_optimizer
from tuneless.bench.catalog.workloads import resolve_workload
from tuneless.bench.record.rows import Trial
from tuneless.bench.record.run_config import BenchConfig
from tuneless.bench.record.store import Store
from tuneless.bench.score.claims import claim_verdict
from tuneless.bench.score.paired import paired_comparison
from tuneless.bench.score.scoring import best_trials
from tuneless.refine import extend_schedule
from tuneless.torch import ScheduleLR


def extended_final_metric(run_config: BenchConfig, ref: str, prior: Trial, full_steps: int) -> tuple[float, float]:
    """Train the prior trial to its end, checkpoint, resume under the extended schedule to ``full_steps``:
    (final metric, rho)."""
    overrides = dict(run_config.overrides.get(ref, {}))
    workload = resolve_workload(ref, overrides | {"budget_steps": full_steps})
    quarter = int(prior.budget_steps)
    schedule, lr, seed = prior.schedule, float(prior.peak_lr), int(prior.seed)
    workload.prepare([seed])
    torch.manual_seed(seed)
    model, data = workload.build(seed)
    optimizer = make_optimizer(prior.optimizer, model.parameters(), lr, quarter)
    scheduler = ScheduleLR(optimizer, schedule, quarter)
    model.train()
    for step in range(quarter):
        loss = workload.train_loss(model, data, step)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
    buffer = io.BytesIO()
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, buffer)
    buffer.seek(0)
    checkpoint = torch.load(buffer, weights_only=True)
    extended, rho = extend_schedule(schedule, quarter, quarter, full_steps, "linear")
    optimizer = make_optimizer(prior.optimizer, model.parameters(), lr, full_steps)
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler = ScheduleLR(optimizer, extended, full_steps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "resuming with a different schedule": intended
        scheduler.load_state_dict(checkpoint["scheduler"])
    for step in range(quarter, full_steps):
        loss = workload.train_loss(model, data, step)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
    model.eval()
    with torch.no_grad():
        metric = float(workload.evaluate(model, data)[workload.metric])
    return metric, rho


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("store")
    parser.add_argument("--run-id", default=None)
    parser.add_argument("--cache", default=None, help="JSON of finished extensions, read and extended (resume)")
    args = parser.parse_args()
    cache_path = Path(args.cache) if args.cache else None
    cache = json.loads(cache_path.read_text()) if cache_path and cache_path.is_file() else {}
    torch.set_num_threads(1)
    with Store(args.store) as store:
        run_id = args.run_id or store.latest_run_id()
        config = store.run(run_id).config
        trials = store.trials(run_id)
    refs = {resolve_workload(ref, config.overrides.get(ref, {})).name: ref for ref in config.workloads}
    print(
        "| workload | linear grid | scratch at T (transfer) | extended from T/4 | rho | vs scratch | vs grid "
        "| paired vs scratch | paired vs grid |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    wins = ties = total = near_grid = 0
    paired_counts = {against: dict.fromkeys(("better", "tie", "worse", "n/a"), 0) for against in ("scratch", "grid")}
    for name, ref in refs.items():
        quarter = [t for t in trials if t.workload == name and t.method == "linear-quarter"]
        linear = [t for t in trials if t.workload == name and t.method == "linear" and t.status == "done"]
        scratch = [t for t in trials if t.workload == name and t.method == "transfer" and t.status == "done"]
        if not quarter or any(t.status == "running" for t in quarter):
            continue
        full = resolve_workload(ref, config.overrides.get(ref, {})).budget_steps
        extended, rhos, extended_by_seed = [], [], {}
        for prior in best_trials(quarter, "steps").values():
            key = f"{name}|{prior.seed}"
            if key not in cache:
                cache[key] = extended_final_metric(config, ref, prior, full)
                if cache_path:
                    cache_path.write_text(json.dumps(cache, indent=1) + "\n")
            extended.append(cache[key][0])
            if np.isfinite(cache[key][0]):  # a diverged extension has no metric to pair
                extended_by_seed[int(prior.seed)] = cache[key][0]
            rhos.append(cache[key][1])
        if not (linear and scratch):
            continue
        hib = linear[0].higher_is_better
        pick = max if hib else min
        seeds = sorted({t.seed for t in linear})
        grid = [pick(t.final_metric for t in linear if t.seed == s) for s in seeds]

        def stats(values: list[float]) -> tuple[float, float]:
            return float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0

        g, s, e = stats(grid), stats([t.final_metric for t in scratch]), stats(extended)
        verdict = claim_verdict(e[0], e[1], s[0], s[1], hib)
        versus_grid = claim_verdict(e[0], e[1], g[0], g[1], hib)
        scratch_by_seed = {int(t.seed): float(t.final_metric) for t in scratch}
        grid_by_seed = dict(zip(seeds, grid, strict=True))
        paired_scratch = paired_comparison(extended_by_seed, scratch_by_seed, hib).verdict
        paired_grid = paired_comparison(extended_by_seed, grid_by_seed, hib).verdict
        for against, paired_verdict in (("scratch", paired_scratch), ("grid", paired_grid)):
            paired_counts[against][paired_verdict] += 1
        near_grid += versus_grid in ("tie", "better")
        total += 1
        wins += verdict == "better"
        ties += verdict == "tie"
        print(
            f"| {name} | {g[0]:.4g} ± {g[1]:.2g} | {s[0]:.4g} ± {s[1]:.2g} | {e[0]:.4g} ± {e[1]:.2g} | "
            f"{np.median(rhos):.3f} | {verdict} | {versus_grid} | {paired_scratch} | {paired_grid} |"
        )
    print(
        f"\nextension vs retraining from scratch: better on {wins}, tie on {ties}, worse on {total - wins - ties} "
        f"of {total}; within noise of (or better than) grid-tuned linear decay on {near_grid}/{total}"
    )
    for against, counts in paired_counts.items():
        without = f", no common seed on {counts['n/a']}" if counts["n/a"] else ""
        print(
            f"paired vs {against}: better on {counts['better']}, tie on {counts['tie']}, worse on {counts['worse']}"
            + without
        )


if __name__ == "__main__":
    main()
