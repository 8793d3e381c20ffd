"""Training-step time of OnlineRefinedLR against ScheduleLR + GradNormRecorder, side by side, on CPU workloads.

Offline refinement's first run uses ``ScheduleLR`` with a ``GradNormRecorder``; the online scheduler does both jobs
(records the norms, re-plans the schedule). For each workload two identical models train in one process, one
with ``ScheduleLR("warmup(linear,fraction=0.05)") + GradNormRecorder(flush_every=B)``, the other with
``OnlineRefinedLR(replan_every=B)``; blocks of ``B = --steps`` steps alternate between them (the order flips
every repetition), so each block holds one flush or one re-plan. The horizon is ``(repeats + 2) * B`` steps, about
the default's 10 re-plans per run. Reported: the median step time of each, and the median over repetitions of the
ratio of the two blocks of a repetition (adjacent in time, so a change of machine load cancels). Also timed
directly: one re-plan (host transfer + ``online_plan``) as a fraction of a block. Goal: <= 2% more step time.

    .venv/bin/python benchmarks/online_overhead.py [--steps 50] [--repeats 9] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from tuneless.torch import GradNormRecorder, OnlineRefinedLR, ScheduleLR


def byte_transformer() -> tuple[torch.nn.Module, Callable[[torch.nn.Module], torch.Tensor], str]:
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(d_model=128, nhead=4, dim_feedforward=512, batch_first=True)
    model = torch.nn.Sequential(
        torch.nn.Embedding(256, 128), torch.nn.TransformerEncoder(layer, num_layers=2), torch.nn.Linear(128, 256)
    )
    data = torch.randint(0, 256, (16, 129), generator=torch.Generator().manual_seed(0))
    x, y = data[:, :-1], data[:, 1:]
    mask = torch.nn.Transformer.generate_square_subsequent_mask(128)

    def loss(m: torch.nn.Module) -> torch.Tensor:
        logits = m[2](m[1](m[0](x), mask=mask, is_causal=True))
        return torch.nn.functional.cross_entropy(logits.reshape(-1, 256), y.reshape(-1))

    return model, loss, "adam"


def mlp() -> tuple[torch.nn.Module, Callable[[torch.nn.Module], torch.Tensor], str]:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(128, 784, generator=g), torch.randint(0, 10, (128,), generator=g)
    return model, lambda m: torch.nn.functional.cross_entropy(m(x), y), "adam"


def logreg() -> tuple[torch.nn.Module, Callable[[torch.nn.Module], torch.Tensor], str]:
    torch.manual_seed(0)
    model = torch.nn.Linear(30, 2)
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(569, 30, generator=g), torch.randint(0, 2, (569,), generator=g)
    return model, lambda m: torch.nn.functional.cross_entropy(m(x), y), "sgd"


WORKLOADS = {
    "byte transformer (2 layers, d 128, seq 128, batch 16), AdamW": byte_transformer,
    "MLP 784-256-10, batch 128, AdamW": mlp,
    "logistic regression 30 features x 569 rows, full batch, SGD": logreg,
}


def measure(build: Callable, steps: int, repeats: int, tmp: Path) -> dict[str, float]:
    total = (repeats + 2) * steps
    runs = {}
    for name in ("ScheduleLR + recorder", "OnlineRefinedLR"):
        model, loss_of, kind = build()
        opt_class = torch.optim.AdamW if kind == "adam" else torch.optim.SGD
        opt = opt_class(model.parameters(), lr=1e-3)
        if name == "OnlineRefinedLR":
            sched = OnlineRefinedLR(opt, total, kind, replan_every=steps)
            rec = None
        else:
            sched = ScheduleLR(opt, "warmup(linear,fraction=0.05)", total)
            rec = GradNormRecorder(opt, tmp / f"{build.__name__}.csv", flush_every=steps)
        runs[name] = (model, loss_of, opt, sched, rec)

    def block(name: str) -> float:
        model, loss_of, opt, sched, _ = runs[name]
        start = time.perf_counter()
        for _ in range(steps):
            loss = loss_of(model)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        return (time.perf_counter() - start) / steps

    for name in runs:  # warm-up: the first 2 blocks reach the first re-plan
        block(name)
        block(name)
    times: dict[str, list[float]] = {name: [] for name in runs}
    for rep in range(repeats):
        for name in list(runs) if rep % 2 == 0 else list(reversed(runs)):
            times[name].append(block(name))
    online = runs["OnlineRefinedLR"][3]
    replans = len(online.replans)
    for *_, rec in runs.values():
        if rec is not None:
            rec.close()

    # One re-plan timed directly on this run's recorded norms: host transfer + plan + join.
    replan_times = []
    for _ in range(5):
        online.last_epoch = total // 2
        start = time.perf_counter()
        online.replan()
        replan_times.append(time.perf_counter() - start)
    base, other = times["ScheduleLR + recorder"], times["OnlineRefinedLR"]
    return {
        "base_ms": statistics.median(base) * 1e3,
        "online_ms": statistics.median(other) * 1e3,
        "pair_ratio": statistics.median(o / b for o, b in zip(other, base, strict=True)),
        "replan_ms": statistics.median(replan_times) * 1e3,
        "replans": replans,
        "total": total,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=50, help="steps per timed block = steps between re-plans")
    parser.add_argument("--repeats", type=int, default=9, help="timed blocks per configuration")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    tmp = Path(tempfile.mkdtemp())
    print(
        f"{args.repeats} interleaved blocks of {args.steps} steps (one flush / one re-plan each), "
        f"{args.threads} thread(s), torch {torch.__version__}"
    )
    header = f"{'workload':64s} {'base ms/step':>12s} {'online ms/step':>14s} {'pair ratio':>10s} {'re-plan ms':>10s}"
    print(header)
    for name, build in WORKLOADS.items():
        r = measure(build, args.steps, args.repeats, tmp)
        print(
            f"{name:64s} {r['base_ms']:12.3f} {r['online_ms']:14.3f} {r['pair_ratio']:10.3f} {r['replan_ms']:10.2f}"
            f"   ({r['replans']} re-plans in {r['total']} steps; one re-plan = "
            f"{100 * r['replan_ms'] / (args.steps * r['base_ms']):.2f}% of a block)"
        )
    print("pair ratio: median over repetitions of (online block time / ScheduleLR + recorder block time)")


if __name__ == "__main__":
    main()
