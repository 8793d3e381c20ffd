"""Refine your schedule in three steps, on real data (docs/refine.md).

A 2-layer byte-level transformer learns the CPython standard-library source (present on every machine with
Python; the script prints the corpus' SHA-256, which changes with the Python version):

1. train with linear decay to zero while ``GradNormRecorder`` writes the gradient norms to ``trace.csv``;
2. refine a schedule from those norms (``weighting="adam"``: AdamW is coordinate-wise, so the L1 norm);
3. train again, same seed, same batches, same peak lr, with the refined schedule; print both final losses.

Run: ``python docs/examples/refine_three_steps.py`` (under a minute on one CPU core). ``--steps 20 --corpus-mb 0.2``
makes a seconds-long smoke run. One torch thread by default: on a busy 2-core machine a training step of this small
model took 20 ms with one thread and 86-1,284 ms with two (docs/refine.md).
"""

from __future__ import annotations

import argparse
import hashlib
import math
import sysconfig
import time
from pathlib import Path

import torch
from torch import nn
from tuneless.refine import refine
from tuneless.torch import GradNormRecorder, ScheduleLR

CONTEXT, WIDTH, LAYERS, HEADS, BATCH = 64, 64, 2, 4, 16


def stdlib_source(megabytes: float) -> bytes:
    """The first ``megabytes`` of the standard library's ``*.py`` files, sorted by path (tests excluded)."""
    root = Path(sysconfig.get_paths()["stdlib"])
    skip = {"site-packages", "test", "tests", "idlelib"}
    files = sorted(p for p in root.rglob("*.py") if not skip.intersection(p.relative_to(root).parts))
    limit, chunks, size = int(megabytes * 2**20), [], 0
    for path in files:
        chunks.append(path.read_bytes())
        size += len(chunks[-1])
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


class ByteTransformer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(256, WIDTH)
        self.position = nn.Parameter(0.02 * torch.randn(CONTEXT, WIDTH))
        block = nn.TransformerEncoderLayer(
            WIDTH, HEADS, 4 * WIDTH, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
        )
        self.blocks = nn.TransformerEncoder(block, LAYERS, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(WIDTH)
        self.head = nn.Linear(WIDTH, 256)
        self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(CONTEXT), persistent=False)

    def loss(self, windows: torch.Tensor) -> torch.Tensor:
        """Mean next-byte cross-entropy (nats) over a batch of ``CONTEXT + 1``-byte windows."""
        inputs, targets = windows[:, :-1], windows[:, 1:]
        h = self.blocks(self.embed(inputs) + self.position, mask=self.mask, is_causal=True)
        return nn.functional.cross_entropy(self.head(self.norm(h)).reshape(-1, 256), targets.reshape(-1))


def train(schedule, steps: int, text: torch.Tensor, peak_lr: float, trace: Path | None = None) -> tuple[float, float]:
    """Trains a fresh model (seed 0, the same batches every call); returns (train loss over the last 10% of
    steps, validation bits per byte), both in bits per byte."""
    torch.manual_seed(0)
    model = ByteTransformer()
    split = int(0.9 * len(text))
    train_text, valid_text = text[:split], text[split:]
    starts = torch.linspace(0, len(valid_text) - CONTEXT - 2, 64).long()
    valid = torch.stack([valid_text[s : s + CONTEXT + 1] for s in starts.tolist()])
    batches = torch.Generator().manual_seed(0)

    optimizer = torch.optim.AdamW(model.parameters(), lr=peak_lr, weight_decay=0.01)
    scheduler = ScheduleLR(optimizer, schedule, total_steps=steps)
    recorder = GradNormRecorder(optimizer, trace, flush_every=50) if trace else None
    losses = []
    for _ in range(steps):
        starts = torch.randint(len(train_text) - CONTEXT - 1, (BATCH,), generator=batches)
        loss = model.loss(torch.stack([train_text[s : s + CONTEXT + 1] for s in starts.tolist()]))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if recorder:
            recorder.log_loss(loss)
        optimizer.step()  # the recorder's pre-step hook writes this step's gradient norms first
        scheduler.step()
        losses.append(loss.item())
    if recorder:
        recorder.close()
    with torch.no_grad():
        valid_nats = model.loss(valid).item()
    tail = losses[-max(1, steps // 10) :]
    return sum(tail) / len(tail) / math.log(2), valid_nats / math.log(2)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600, help="optimizer steps per run")
    parser.add_argument("--corpus-mb", type=float, default=4.0, help="megabytes of standard-library source")
    parser.add_argument("--peak-lr", type=float, default=1.2e-2, help="AdamW peak learning rate, both runs")
    parser.add_argument("--tau", type=float, default=None, help="refinement window fraction (default: tuneless')")
    parser.add_argument("--out", type=Path, default=Path("refine-example"), help="folder for the trace and schedule")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()

    corpus = stdlib_source(args.corpus_mb)
    print(
        f"corpus: {len(corpus):,} bytes of the Python {sysconfig.get_python_version()} standard library, "
        f"sha256 {hashlib.sha256(corpus).hexdigest()[:16]}..."
    )
    text = torch.frombuffer(bytearray(corpus), dtype=torch.uint8).long()

    # Step 1: a run with linear decay to zero, recording the gradient norms.
    trace = args.out / "trace.csv"
    trace.unlink(missing_ok=True)
    linear_train, linear_valid = train("linear", args.steps, text, args.peak_lr, trace=trace)

    # Step 2: refine the schedule from the recorded norms (L1 norms for AdamW).
    refined = refine(trace, weighting="adam", **({} if args.tau is None else {"tau": args.tau}))
    refined.save(args.out / "refined.json")
    print(
        f"refined schedule: starts at {refined.array[0]:.2f} of the peak, peaks at "
        f"{100 * refined.meta['peak_progress']:.0f}% of training (median window {refined.meta['window']} steps)"
    )

    # Step 3: the same run with the refined schedule.
    refined_train, refined_valid = train(refined, args.steps, text, args.peak_lr)

    print(f"{'schedule':<16}{'train bits/byte':>18}{'valid bits/byte':>18}")
    print(f"{'linear decay':<16}{linear_train:>18.4f}{linear_valid:>18.4f}")
    print(f"{'refined':<16}{refined_train:>18.4f}{refined_valid:>18.4f}")
    print(f"({args.steps} steps per run, {time.perf_counter() - start:.0f} s in all; files in {args.out}/)")


if __name__ == "__main__":
    main()
