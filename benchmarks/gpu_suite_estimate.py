"""How long the ``gpu`` suite should take on one GPU: FLOPs counted with ``torch.utils.flop_counter`` on one real
training step of each workload (forward + backward, on the CPU), times the suite's steps and trials.

An estimate, not a measurement. The GPU's busy time is FLOPs / sustained throughput; each trial also spends host
time (launch overhead per step, torch.compile once), which runs in parallel over the trials sharing the GPU. The
wall time lies between max(GPU time, host time / trials sharing the GPU) (host work hidden behind the other
trials' GPU work) and their sum (nothing hidden). The defaults assume an H100/H200-class GPU sustaining 150 TFLOP/s
in bf16 on these small models (~15% of its dense peak), 1 ms of launch overhead per compiled step and 20 s of
torch.compile per trial (training and evaluation graphs); measure them on the GPU (benchmarks/gpu_check.sh) and
rerun with the measured values.

    .venv/bin/python benchmarks/gpu_suite_estimate.py [--tflops 150] [--step-overhead-ms 1] [--compile-s 20]
        [--trials-per-device 8]
"""

from __future__ import annotations

import argparse

from torch.utils.flop_counter import FlopCounterMode

import torch
from tuneless.bench.catalog.methods import resolve_methods
from tuneless.bench.catalog.suites import get_suite
from tuneless.bench.catalog.workloads import resolve_workload


def step_flops(workload) -> tuple[int, int]:
    """(parameters, FLOPs of one training step: forward and backward of one batch) on the CPU in float32."""
    model, data = workload.with_overrides(**_no_acceleration(workload)).build(0, "cpu")
    counter = FlopCounterMode(display=False)
    with counter:
        workload.train_loss(model, data, 0).backward()
    return sum(p.numel() for p in model.parameters()), counter.get_total_flops()


def _no_acceleration(workload) -> dict:
    return {key: False for key in ("bf16", "compile") if key in workload.extra_overrides}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", default="gpu")
    parser.add_argument("--tflops", type=float, default=150.0, help="sustained bf16 TFLOP/s on these models")
    parser.add_argument("--step-overhead-ms", type=float, default=1.0, help="launch overhead per step (ms)")
    parser.add_argument("--compile-s", type=float, default=20.0, help="torch.compile seconds per trial")
    parser.add_argument("--trials-per-device", type=int, default=8)
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    suite = get_suite(args.suite)
    methods = resolve_methods(list(suite.methods))
    total_flops = total_steps = total_trials = 0
    print(f"suite {suite.name}: {len(methods)} methods ({', '.join(m.name for m in methods)}), {suite.seeds} seeds")
    print(f"{'workload':12s} {'params':>8s} {'GFLOP/step':>11s} {'steps':>6s} {'trials':>6s} {'PFLOP':>8s}")
    for ref, overrides in suite.workloads.items():
        workload = resolve_workload(ref, overrides)
        if workload.unavailable_reason():
            print(f"{workload.name:12s} unavailable here: {workload.unavailable_reason()}")
            continue
        params, flops = step_flops(workload)
        trials = sum(len(m.trials(workload)) for m in methods) * suite.seeds
        workload_flops = flops * workload.budget_steps * trials
        total_flops += workload_flops
        total_steps += workload.budget_steps * trials
        total_trials += trials
        print(
            f"{workload.name:12s} {params / 1e6:7.2f}M {flops / 1e9:11.1f} {workload.budget_steps:6d} {trials:6d} "
            f"{workload_flops / 1e15:8.2f}"
        )
    compute_s = total_flops / (args.tflops * 1e12)
    host_s = (total_steps * args.step_overhead_ms / 1e3 + total_trials * args.compile_s) / args.trials_per_device
    print(
        f"total: {total_trials} trials, {total_steps} steps, {total_flops / 1e15:.1f} PFLOP: {compute_s:.0f} s of GPU "
        f"time at {args.tflops:g} TFLOP/s; host time (launches, compile) {host_s:.0f} s over "
        f"{args.trials_per_device} trials per GPU; estimate {max(compute_s, host_s):.0f} to {compute_s + host_s:.0f} s"
    )


if __name__ == "__main__":
    main()
