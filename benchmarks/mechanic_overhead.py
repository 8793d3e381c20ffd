"""Mechanic's cost against its bare base optimizer: step time and memory, side by side (CPU).

Six optimizers train identical copies of a small byte-level transformer (about 0.6 M parameters) in one process:
Adam, Mechanic(Adam) storing Delta, Mechanic(Adam) recomputing Delta, and the same three for SGD with momentum.
Blocks of ``--steps`` training steps alternate between them (the order rotates every repetition); we report the
median over ``--repeats`` blocks of the optimizer-step time and of the whole training-step time (forward, backward,
step), and the median over repetitions of each Mechanic block's ratio to the base optimizer's block of the same
repetition (adjacent in time, so changes of machine load cancel).

Memory, on CPU where torch keeps no allocator statistics, is counted from the tensors themselves:
``state`` = bytes of optimizer state alive between steps (base moments, Mechanic's x_ref and Delta, tuner);
``step peak`` = the most bytes held at once by tensors created inside ``optimizer.step()`` (a TorchDispatchMode
sees every new tensor and a weakref callback sees it freed). Both are exact counts of tensor storage, independent
of the machine's load; they are reported in units of the model's parameter bytes.

    .venv/bin/python benchmarks/mechanic_overhead.py [--steps 20] [--repeats 7] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time
import weakref

from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

import torch
from tuneless.torch.mechanic import Mechanic


def make_model(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    layer = torch.nn.TransformerEncoderLayer(d_model=128, nhead=4, dim_feedforward=512, batch_first=True)
    return torch.nn.Sequential(
        torch.nn.Embedding(256, 128), torch.nn.TransformerEncoder(layer, num_layers=2), torch.nn.Linear(128, 256)
    )


OPTIMIZERS = {
    "Adam": lambda p: torch.optim.Adam(p, lr=3e-4),
    "Mechanic(Adam), store Delta": lambda p: Mechanic(torch.optim.Adam, p, lr=3e-4),
    "Mechanic(Adam), recompute Delta": lambda p: Mechanic(torch.optim.Adam, p, lr=3e-4, store_delta=False),
    "SGD": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
    "Mechanic(SGD), store Delta": lambda p: Mechanic(torch.optim.SGD, p, lr=0.1, momentum=0.9),
    "Mechanic(SGD), recompute Delta": lambda p: Mechanic(torch.optim.SGD, p, lr=0.1, momentum=0.9, store_delta=False),
}
BASE_OF = {name: name.split("(")[1].split(")")[0] for name in OPTIMIZERS if name.startswith("Mechanic")}


class NewTensorBytes(TorchDispatchMode):
    """Tracks bytes of storages created under the mode: current and peak (CPU tensors; views are not counted)."""

    def __init__(self) -> None:
        super().__init__()
        self.current = 0
        self.peak = 0
        self._seen: set[int] = set()

    def _free(self, key: int, nbytes: int) -> None:
        self._seen.discard(key)
        self.current -= nbytes

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        inputs = {id(t.untyped_storage()) for t in tree_flatten((args, kwargs or {}))[0] if isinstance(t, torch.Tensor)}
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if not isinstance(t, torch.Tensor):
                continue
            storage = t.untyped_storage()
            key = id(storage)
            if key in inputs or key in self._seen:
                continue
            self._seen.add(key)
            self.current += storage.nbytes()
            self.peak = max(self.peak, self.current)
            weakref.finalize(t, self._free, key, storage.nbytes())
        return out


def state_bytes(opt: torch.optim.Optimizer) -> int:
    tensors = []
    for holder in (opt, getattr(opt, "base", None)):
        if holder is not None:
            tensors += [v for s in holder.state.values() for v in s.values() if isinstance(v, torch.Tensor)]
    tensors += list((getattr(opt, "tuner", None) or {}).values())
    return sum(t.untyped_storage().nbytes() for t in {id(t): t for t in tensors}.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20, help="training steps per timed block")
    parser.add_argument("--repeats", type=int, default=7, help="timed blocks per optimizer")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = torch.randint(0, 256, (8, 65), generator=torch.Generator().manual_seed(0))
    x, y = data[:, :-1], data[:, 1:]
    mask = torch.nn.Transformer.generate_square_subsequent_mask(64)

    def loss_of(model: torch.nn.Module) -> torch.Tensor:
        logits = model[2](model[1](model[0](x), mask=mask, is_causal=True))
        return torch.nn.functional.cross_entropy(logits.reshape(-1, 256), y.reshape(-1))

    runs = {}
    for name, make in OPTIMIZERS.items():
        model = make_model(0)
        runs[name] = (model, make(model.parameters()))
    param_bytes = sum(p.untyped_storage().nbytes() for p in make_model(0).parameters())

    def train_step(model, opt, meter=None) -> tuple[float, float]:
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss_of(model).backward()
        t1 = time.perf_counter()
        if meter is None:
            opt.step()
        else:
            with meter:
                opt.step()
        t2 = time.perf_counter()
        return t2 - t0, t2 - t1

    memory = {}
    for name, (model, opt) in runs.items():
        train_step(model, opt)  # creates the state
        meter = NewTensorBytes()
        train_step(model, opt, meter)
        memory[name] = (state_bytes(opt) / param_bytes, meter.peak / param_bytes)

    names = list(runs)
    blocks: dict[str, list[tuple[float, float]]] = {n: [] for n in names}
    for rep in range(args.repeats):
        order = names[rep % len(names) :] + names[: rep % len(names)]
        for name in order:
            model, opt = runs[name]
            times = [train_step(model, opt) for _ in range(args.steps)]
            blocks[name].append((sum(t[0] for t in times) / args.steps, sum(t[1] for t in times) / args.steps))

    print(
        f"model: {param_bytes / 4 / 1e6:.2f} M float32 parameters; {args.steps} steps x {args.repeats} blocks, "
        f"{args.threads} thread(s); memory in units of the parameters' bytes"
    )
    header = (
        f"{'optimizer':34s} {'train step ms':>13s} {'opt step ms':>11s} {'step ratio':>10s} "
        f"{'opt ratio':>9s} {'state':>6s} {'step peak':>9s}"
    )
    print(header)
    for name in names:
        train_ms = statistics.median(b[0] for b in blocks[name]) * 1e3
        opt_ms = statistics.median(b[1] for b in blocks[name]) * 1e3
        if name in BASE_OF:
            base = blocks[BASE_OF[name]]
            step_ratio = statistics.median(a[0] / b[0] for a, b in zip(blocks[name], base, strict=True))
            opt_ratio = statistics.median(a[1] / b[1] for a, b in zip(blocks[name], base, strict=True))
            ratios = f"{step_ratio:10.3f} {opt_ratio:9.3f}"
        else:
            ratios = f"{'1':>10s} {'1':>9s}"
        state, peak = memory[name]
        print(f"{name:34s} {train_ms:13.2f} {opt_ms:11.2f} {ratios} {state:6.2f} {peak:9.2f}")


if __name__ == "__main__":
    main()
