"""Worker functions for the recorder's multi-process tests (importable by spawned processes)."""

from __future__ import annotations

import os
import sys
import time

import torch.distributed as dist

import torch
from tuneless.torch.recorder import GradNormRecorder


def model_and_data(rank: int):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    g = torch.Generator().manual_seed(100 + rank)
    x = torch.randn(16, 6, generator=g)
    y = torch.randn(16, 1, generator=g)
    return model, x, y


def _init(rank: int, world: int, port: int) -> None:
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)


def _finish() -> None:
    """Leave together and skip interpreter teardown: a gloo thread still alive at exit can abort the process
    ("terminate called without an active exception") after all the work is done and saved."""
    dist.barrier()
    dist.destroy_process_group()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def ddp_worker(rank: int, world: int, port: int, trace: str, out: str) -> None:
    """DDP on 2 ranks with different data: the recorded norm must be that of the averaged gradient."""
    _init(rank, world, port)
    model, x, y = model_and_data(rank)
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.SGD(ddp.parameters(), lr=0.1)
    rec = GradNormRecorder(opt, trace if rank == 0 else trace + f".rank{rank}", flush_every=2)
    norms = []
    for _ in range(5):
        opt.zero_grad()
        torch.nn.functional.mse_loss(ddp(x), y).backward()
        flat = torch.cat([p.grad.reshape(-1) for p in model.parameters()]).double()
        norms.append([flat.norm(2).item(), flat.norm(1).item()])
        opt.step()
    rec.close()
    torch.save(torch.tensor(norms), f"{out}.{rank}")
    _finish()


def _count_all_reduce() -> list[tuple[int, ...]]:
    """Wraps ``dist.all_reduce`` in this process; the returned list fills with the shape of each call's tensor."""
    calls: list[tuple[int, ...]] = []
    real_all_reduce = dist.all_reduce

    def counting_all_reduce(tensor, *args, **kwargs):
        calls.append(tuple(tensor.shape))
        return real_all_reduce(tensor, *args, **kwargs)

    dist.all_reduce = counting_all_reduce
    return calls


def sharded_worker(rank: int, world: int, port: int, trace: str, calls_out: str) -> None:
    """Each rank owns half of the parameters (ZeRO-style): the recorded norms must be the full gradient's."""
    _init(rank, world, port)
    calls = _count_all_reduce()
    model, x, y = model_and_data(0)  # same data on both ranks: the full gradient is one process's gradient
    params = list(model.parameters())
    mine = params[rank::world]
    opt = torch.optim.SGD(mine, lr=0.1)
    rec = GradNormRecorder(opt, trace, flush_every=3, sharded=True)
    for _ in range(7):
        for p in params:
            p.grad = None
        torch.nn.functional.mse_loss(model(x), y).backward()
        for p in params:  # the other rank's parameters move too, as their owner updates them
            if all(p is not q for q in mine):
                with torch.no_grad():
                    p -= 0.1 * p.grad
        opt.step()
    rec.close()
    torch.save(calls, calls_out + f".{rank}")
    _finish()


def fsdp_worker(rank: int, world: int, port: int, trace: str, calls_out: str) -> None:
    """FSDP2 (``fully_shard``) on 2 ranks with different data: DTensor gradients, each rank holding a shard."""
    from torch.distributed.fsdp import fully_shard

    _init(rank, world, port)
    calls = _count_all_reduce()  # FSDP's own reduce-scatter does not go through it
    model, x, y = model_and_data(rank)
    fully_shard(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    rec = GradNormRecorder(opt, trace, flush_every=3, sharded=True)
    for _ in range(5):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
    rec.close()
    torch.save(calls, calls_out + f".{rank}")
    _finish()


def crash_worker(trace: str, flush_every: int) -> None:
    """Trains forever, flushing every few steps; the test kills it with SIGKILL."""
    torch.set_num_threads(1)
    model, x, y = model_and_data(0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    rec = GradNormRecorder(opt, trace, flush_every=flush_every)
    while True:
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        rec.log_loss(loss)
        opt.step()
        time.sleep(0.001)


if __name__ == "__main__":
    crash_worker(sys.argv[1], int(sys.argv[2]))
