"""Training-step time with and without GradNormRecorder on a small byte-level transformer (CPU or CUDA).

Two identical models train side by side in one process, one with the recorder attached to its optimizer and one
without; blocks of ``--steps`` steps alternate between them (the order flips every repetition), and we report the
median step time of each over ``--repeats`` blocks and the median over repetitions of the ratio of the two blocks
of a repetition (adjacent in time, so a change of machine load between repetitions cancels). Keep ``--steps`` a
multiple of ``--flush-every`` so that every timed block of the recorded model holds the same number of flushes.

On a busy machine the difference of two ~150 ms steps drowns in noise; the script therefore also times the
recorder's own work directly on the model's real gradients (the step pre-hook, and one flush of a full window)
and reports it as a fraction of the median step time without the recorder. Goal: <= 2% at the default flush
interval (100 steps); on a GPU (``--device cuda``): <= 1%, where the recorder's norms are a few foreach kernels
queued behind the step's and the host waits for the device only at a flush. On CUDA every timed block and every
direct timing ends with ``torch.cuda.synchronize()`` before the clock is read; ``--bf16`` runs the model under bf16
autocast (as the gpu suite does).

    .venv/bin/python benchmarks/recorder_overhead.py [--device cpu|cuda[:N]] [--flush-every 100] [--steps 100]
        [--repeats 11] [--d-model 128] [--layers 2] [--heads 4] [--seq 128] [--batch 16] [--bf16]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
from tuneless.torch import GradNormRecorder


def make_model(seed: int, d_model: int = 128, layers: int = 2, heads: int = 4) -> torch.nn.Module:
    torch.manual_seed(seed)
    layer = torch.nn.TransformerEncoderLayer(d_model, heads, dim_feedforward=4 * d_model, batch_first=True)
    return torch.nn.Sequential(
        torch.nn.Embedding(256, d_model),
        torch.nn.TransformerEncoder(layer, num_layers=layers, enable_nested_tensor=False),
        torch.nn.Linear(d_model, 256),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flush-every", type=int, default=100)
    parser.add_argument("--steps", type=int, default=100, help="training steps per timed block")
    parser.add_argument("--repeats", type=int, default=11, help="timed blocks per configuration")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--d-model", type=int, default=128)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--seq", type=int, default=128, help="context length")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast (CUDA)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error(f"--device {args.device}: CUDA is not available here")

    def synchronize() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    data = torch.randint(0, 256, (args.batch, args.seq + 1), generator=torch.Generator().manual_seed(0)).to(device)
    x, y = data[:, :-1], data[:, 1:]
    mask = torch.nn.Transformer.generate_square_subsequent_mask(args.seq, device=device)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.bf16)

    runs = {}
    tmp = Path(tempfile.mkdtemp())
    for name, record in (("without recorder", False), ("with recorder", True)):
        model = make_model(0, args.d_model, args.layers, args.heads).to(device)
        opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
        rec = GradNormRecorder(opt, tmp / "trace.csv", flush_every=args.flush_every) if record else None
        runs[name] = (model, opt, rec)

    def loss_of(model: torch.nn.Module) -> torch.Tensor:
        with autocast:
            logits = model[2](model[1](model[0](x), mask=mask, is_causal=True))
        return torch.nn.functional.cross_entropy(logits.float().reshape(-1, 256), y.reshape(-1))

    def block(name: str, steps: int) -> float:
        model, opt, rec = runs[name]
        synchronize()
        start = time.perf_counter()
        for _ in range(steps):
            loss = loss_of(model)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if rec is not None:
                rec.log_loss(loss)
            opt.step()
        synchronize()
        return (time.perf_counter() - start) / steps

    for name in runs:  # warm-up
        block(name, 10)
    times: dict[str, list[float]] = {name: [] for name in runs}
    for rep in range(args.repeats):
        order = list(runs) if rep % 2 == 0 else list(reversed(runs))
        for name in order:
            times[name].append(block(name, args.steps))
    runs["with recorder"][2].close()
    rows = len((tmp / "trace.csv").read_text().splitlines()) - 1

    # The recorder's own work, timed directly: its pre-hook on the real gradients, and the flush of a full window.
    model, opt, _ = runs["with recorder"]
    rec = GradNormRecorder(opt, tmp / "direct.csv", flush_every=10**9)
    loss = loss_of(model).detach()
    hook_times, flush_times = [], []
    for _ in range(args.repeats):
        synchronize()
        start = time.perf_counter()
        for _ in range(args.flush_every):
            rec.log_loss(loss)
            rec._before_step(opt, (), {})
        synchronize()
        hook_times.append((time.perf_counter() - start) / args.flush_every)
        start = time.perf_counter()
        rec.flush()
        flush_times.append(time.perf_counter() - start)
    rec.close()

    med = {name: statistics.median(ts) for name, ts in times.items()}
    base = med["without recorder"]
    pairs = zip(times["with recorder"], times["without recorder"], strict=True)
    pair_ratio = statistics.median(with_ / without for with_, without in pairs)
    where = f"{torch.cuda.get_device_name(device)} (CUDA {torch.version.cuda})" if device.type == "cuda" else "CPU"
    print(
        f"{args.layers}-layer byte transformer (d_model {args.d_model}, seq {args.seq}, batch {args.batch}"
        f"{', bf16 autocast' if args.bf16 else ''}) on {where}, {args.threads} thread(s), AdamW; "
        f"{args.repeats} interleaved blocks of {args.steps} steps; flush every {args.flush_every}; "
        f"{rows} rows recorded; torch {torch.__version__}"
    )
    print(f"{'configuration':20s} {'median ms/step':>15s} {'ratio of medians':>17s} {'median of pair ratios':>22s}")
    for name, value in med.items():
        paired = 1.0 if name == "without recorder" else pair_ratio
        print(f"{name:20s} {value * 1e3:15.2f} {value / base:17.3f} {paired:22.3f}")
    print(f"overhead, side by side (median of pair ratios): {100 * (pair_ratio - 1):+.2f}%")
    hook, flush = statistics.median(hook_times), statistics.median(flush_times)
    direct = hook + flush / args.flush_every
    print(
        f"recorder work, timed directly: pre-hook {hook * 1e3:.3f} ms/step + flush {flush * 1e3:.2f} ms / "
        f"{args.flush_every} steps = {direct * 1e3:.3f} ms/step = {100 * direct / base:.2f}% of a step without it"
    )


if __name__ == "__main__":
    main()
