"""Per-step cost of tuneless' ScheduleLR against torch's LambdaLR computing the same multiplier.

Both schedulers drive the same kind of optimizer (2 param groups); we time ``scheduler.step()`` alone, in blocks
of ``--steps`` calls, interleaving the two schedulers block by block (order alternating), and report the median
per-step time over ``--repeats`` blocks and the ratio. Goal: ratio <= 1.5.

    .venv/bin/python benchmarks/scheduler_overhead.py [--schedule SPEC] [--steps 2000] [--repeats 21]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import torch
from tuneless.schedules import parse_schedule
from tuneless.torch import ScheduleLR


def make_optimizer() -> torch.optim.Optimizer:
    a, b = torch.nn.Parameter(torch.zeros(4)), torch.nn.Parameter(torch.zeros(4))
    return torch.optim.SGD([{"params": [a], "lr": 0.1}, {"params": [b], "lr": 0.01}], momentum=0.9)


def time_block(make_scheduler, steps: int) -> float:
    opt = make_optimizer()
    sched = make_scheduler(opt, steps)
    start = time.perf_counter()
    for _ in range(steps):
        sched.step()
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schedule", default="warmup(cosine(floor=0.1),fraction=0.05)")
    parser.add_argument("--steps", type=int, default=2000, help="scheduler steps per timed block")
    parser.add_argument("--repeats", type=int, default=21, help="timed blocks per scheduler")
    args = parser.parse_args()
    torch.set_num_threads(1)
    # we time scheduler.step() alone, without optimizer.step(): silence torch's order check
    warnings.filterwarnings("ignore", message="Detected call of")
    schedule = parse_schedule(args.schedule)

    def ours(opt, T):
        return ScheduleLR(opt, schedule, T)

    def lambda_lr(opt, T):
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda t: float(schedule(min(t, T), T)))

    candidates = {"tuneless ScheduleLR": ours, "torch LambdaLR (same function)": lambda_lr}
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for make in candidates.values():  # warm-up
        time_block(make, 200)
    for rep in range(args.repeats):
        order = list(candidates.items())
        if rep % 2:
            order.reverse()
        for name, make in order:
            times[name].append(time_block(make, args.steps))

    med = {name: statistics.median(ts) for name, ts in times.items()}
    base = med["torch LambdaLR (same function)"]
    print(
        f"schedule: {schedule.spec}; {args.repeats} interleaved blocks of {args.steps} steps; torch {torch.__version__}"
    )
    print(f"{'scheduler':34s} {'median us/step':>15s} {'ratio':>7s}")
    for name, value in med.items():
        print(f"{name:34s} {value * 1e6:15.2f} {value / base:7.2f}")


if __name__ == "__main__":
    main()
