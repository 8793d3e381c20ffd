"""Worker functions for OnlineRefinedLR's multi-process tests (importable by spawned processes and subprocesses)."""

from __future__ import annotations

import sys

import torch
from tuneless.torch import OnlineRefinedLR

from ._recorder_workers import _count_all_reduce, _finish, _init, model_and_data

STEPS = 40


def ddp_worker(rank: int, world: int, port: int, out: str) -> None:
    """DDP, different data per rank: both ranks must use the same lrs, planned from the averaged gradient's norms."""
    _init(rank, world, port)
    model, x, y = model_and_data(rank)
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.SGD(ddp.parameters(), lr=0.05)
    sched = OnlineRefinedLR(opt, STEPS, "sgd", replan_every=5)
    norms, lrs = [], []
    for _ in range(STEPS):
        opt.zero_grad()
        torch.nn.functional.mse_loss(ddp(x), y).backward()
        norms.append(torch.cat([p.grad.reshape(-1) for p in model.parameters()]).double().norm(2).item())
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    sched._transfer()
    torch.save({"norms": norms, "lrs": lrs, "recorded": sched.norms.tolist()}, f"{out}.{rank}")
    _finish()


def sharded_worker(rank: int, world: int, port: int, out: str) -> None:
    """Each rank owns half of the parameters (ZeRO-style), same data: the plans must use the full gradient's norms,
    with one all_reduce per re-plan."""
    _init(rank, world, port)
    calls = _count_all_reduce()
    model, x, y = model_and_data(0)
    params = list(model.parameters())
    mine = params[rank::world]
    opt = torch.optim.SGD(mine, lr=0.05)
    sched = OnlineRefinedLR(opt, STEPS, "adam", replan_every=6, sharded=True)  # "adam": the L1 sums are reduced
    norms, lrs = [], []
    for _ in range(STEPS):
        for p in params:
            p.grad = None
        torch.nn.functional.mse_loss(model(x), y).backward()
        norms.append(torch.cat([p.grad.reshape(-1) for p in params]).double().norm(1).item())
        lrs.append(opt.param_groups[0]["lr"])
        for p in params:  # the other rank's parameters move as their owner updates them (SGD, same lr)
            if all(p is not q for q in mine):
                with torch.no_grad():
                    p -= opt.param_groups[0]["lr"] * p.grad
        opt.step()
        sched.step()
    n_calls = len(calls)
    sched._transfer()
    result = {"norms": norms, "lrs": lrs, "recorded": sched.norms.tolist(), "calls": n_calls}
    torch.save({**result, "replans": sorted(sched.replans)}, f"{out}.{rank}")
    _finish()


# --- exact resume across processes -----------------------------------------------------------------------------
def _train(steps: range, model, opt, sched, lrs: list[float]) -> None:
    for step in steps:
        g = torch.Generator().manual_seed(1000 + step)  # the batch of a step depends only on the step
        x = torch.randn(32, 6, generator=g)
        y = torch.sin(x.sum(1, keepdim=True))
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        lrs.extend(group["lr"] for group in opt.param_groups)
        opt.step()
        sched.step()


def _build():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    opt = torch.optim.AdamW(
        [{"params": model[0].parameters(), "lr": 3e-2}, {"params": model[2].parameters(), "lr": 1e-2}]
    )
    return model, opt


def resume_main(mode: str, path: str, total: int, stop: int) -> None:
    """``full``: ``total`` steps in one go; ``first``: ``stop`` steps, then a checkpoint; ``resume``: a fresh
    process loads the checkpoint and runs the rest. Each writes the lrs of the steps it ran."""
    torch.set_num_threads(1)
    model, opt = _build()
    lrs: list[float] = []
    if mode == "resume":
        state = torch.load(path + ".ckpt", weights_only=True)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched = OnlineRefinedLR(opt, total, "adam", replan_every=7, future="trend")
        sched.load_state_dict(state["scheduler"])
        _train(range(stop, total), model, opt, sched, lrs)
    else:
        sched = OnlineRefinedLR(opt, total, "adam", replan_every=7, future="trend")
        _train(range(total if mode == "full" else stop), model, opt, sched, lrs)
        if mode == "first":
            state = {"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict()}
            torch.save(state, path + ".ckpt")
    sched.plot(path + f".{mode}.png")
    torch.save({"lrs": lrs, "multipliers": torch.from_numpy(sched.multipliers)}, path + f".{mode}")


if __name__ == "__main__":
    resume_main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
