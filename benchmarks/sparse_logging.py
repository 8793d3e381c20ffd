"""What sparse logging costs refinement: one run's full gradient-norm trace vs the same run logged every 10th / 50th
step, on bench workloads (docs/refine.md, "What sparse logging costs").

For each workload (through its public interface: ``build``, ``train_loss``, ``evaluate``, ``budget_steps``), seed 0:

1. train ``budget_steps`` steps with linear decay at the given peak lr, ``GradNormRecorder`` on the optimizer: the
   full trace;
2. keep every d-th row as a framework logging every d steps would (Trainer's convention: steps d-1, 2d-1, ...;
   and with step 0 too, as Trainer's ``logging_first_step=True`` logs) and refine each (full, every 10th, every
   50th) with the workload's weighting (L1 for Adam-type, L2 for SGD-type) at
   the default tau; the sparse ones are interpolated to every step, the documented rule;
3. report, against the full trace's schedule, the largest difference of the multipliers over the run (and its
   step), the mean difference, and where each schedule peaks; then train again from the same seed with each
   refined schedule (same batches, same peak lr) and report the final validation metric.

    .venv/bin/python benchmarks/sparse_logging.py [--workloads lm-stdlib fashion-mlp fashion-cnn] [--seed 0]
        [--strides 10 50] [--threads 1]

The workloads' optimizers are built here with torch from the workload's spec (adamw(weight_decay=0.01) for the
byte LM, adam for the Fashion-MNIST MLP, sgd(momentum=0.9) for the CNN); peak lrs are their grid's middle values.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from tuneless.bench.workloads.fashion_mnist import FashionCNN, FashionMLP
from tuneless.bench.workloads.text_lm import StdlibLanguageModel

import torch
from tuneless.refine import read_trace, refine
from tuneless.torch import GradNormRecorder, ScheduleLR

# name -> (workload class, optimizer factory, peak lr, refinement weighting)
WORKLOADS = {
    "lm-stdlib": (StdlibLanguageModel, lambda p, lr: torch.optim.AdamW(p, lr=lr, weight_decay=0.01), 1e-2, "adam"),
    "fashion-mlp": (FashionMLP, lambda p, lr: torch.optim.Adam(p, lr=lr), 3e-3, "adam"),
    "fashion-cnn": (FashionCNN, lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9), 0.1, "sgd"),
}


def train(name: str, schedule, seed: int, trace: Path | None = None) -> float:
    """One run of workload ``name`` from ``seed``; returns its final validation metric."""
    workload_class, make_optimizer, peak, _ = WORKLOADS[name]
    workload = workload_class()
    model, data = workload.build(seed, "cpu")
    optimizer = make_optimizer(model.parameters(), peak)
    scheduler = ScheduleLR(optimizer, schedule, workload.budget_steps)
    recorder = GradNormRecorder(optimizer, trace, flush_every=workload.budget_steps) if trace else None
    model.train()
    for step in range(workload.budget_steps):
        loss = workload.train_loss(model, data, step)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
    if recorder:
        recorder.close()
    model.eval()
    with torch.no_grad():
        return float(workload.evaluate(model, data)[workload.metric])


def every(trace_path: Path, stride: int, folder: Path, first: bool = False) -> Path:
    """The rows of steps stride-1, 2*stride-1, ... of a full trace (what a framework logging every ``stride``
    optimizer steps after the step keeps), and step 0 too with ``first`` (Trainer's ``logging_first_step``), as a
    CSV trace."""
    trace = read_trace(trace_path)
    keep = (trace.step % stride == stride - 1) | ((trace.step == 0) & first)
    path = folder / f"every{stride}{'-first' if first else ''}.csv"
    rows = zip(trace.step[keep], trace.grad_l2[keep], trace.grad_l1[keep], strict=True)
    path.write_text("step,grad_l2,grad_l1\n" + "".join(f"{int(s)},{float(a)!r},{float(b)!r}\n" for s, a, b in rows))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", nargs="+", default=["lm-stdlib", "fashion-mlp", "fashion-cnn"])
    parser.add_argument("--strides", nargs="+", type=int, default=[10, 50])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print("| workload (steps, weighting) | trace | logged norms | multipliers vs the full trace's: max abs. "
          "difference (where) | mean abs. difference | peak at | final metric with the refined schedule |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for name in args.workloads:
        workload_class, _, peak, weighting = WORKLOADS[name]
        reason = workload_class().unavailable_reason()
        if reason:
            print(f"| {name} | not run: {reason} | | | | | |")
            continue
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as folder:
            folder = Path(folder)
            full_path = folder / "full.csv"
            linear = train(name, "linear", args.seed, full_path)
            steps = workload_class.budget_steps
            full = refine(full_path, weighting)
            label = f"{name} ({steps}, {weighting}, peak lr {peak:g})"
            metric = workload_class.metric
            print(f"| {label} | linear decay (the recorded run) | | | | | {metric} {linear:.4f} |")
            rows = [("every step", full_path)]
            for d in args.strides:
                rows.append((f"every {d}th", every(full_path, d, folder)))
                rows.append((f"every {d}th and step 0", every(full_path, d, folder, first=True)))
            for kind, path in rows:
                with warnings.catch_warnings():
                    warnings.simplefilter("error")  # a sparse log is the documented case: no warning
                    schedule = refine(path, weighting)
                assert schedule.meta["steps"] == steps, schedule.meta
                difference = np.abs(schedule.array - full.array)
                where = int(np.argmax(difference))
                result = train(name, schedule, args.seed)
                print(
                    f"| {label} | {kind} | {schedule.meta['logged_steps']} | {difference.max():.3f} (step {where}) | "
                    f"{difference.mean():.3f} | {100 * schedule.meta['peak_progress']:.1f}% | {metric} {result:.4f} |"
                )
        print(f"<!-- {name}: {time.perf_counter() - started:.0f} s -->")


if __name__ == "__main__":
    main()
