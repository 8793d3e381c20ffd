"""OnlineRefinedLR: the schedule it plans, its recording (no host sync per step, accumulation, GradScaler, DDP,
sharded gradients), exact resume across processes, the trace and the figure."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch.multiprocessing as mp
from hypothesis import given, settings
from hypothesis import strategies as st

import torch
from tuneless.refine import read_trace
from tuneless.refine.online import FUTURE_MODELS, joined, online_plan
from tuneless.schedules import parse_schedule
from tuneless.torch import OnlineRefinedLR, ScheduleLR

from . import _online_workers as workers

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def drive(norms, total, weighting="sgd", lrs=(1.0,), **kwargs):
    """Runs OnlineRefinedLR with prescribed gradient norms: one 1-element parameter per group, gradient = the norm
    (float64: its L1 and L2 norms are the norm exactly); the parameters are reset after every step.
    Returns (lrs per step, scheduler)."""
    params = [torch.nn.Parameter(torch.zeros(1, dtype=torch.float64)) for _ in lrs]
    opt = torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(params, lrs, strict=True)], lr=1.0)
    sched = OnlineRefinedLR(opt, total, weighting, **kwargs)
    seen = []
    for step in range(total):
        seen.append([g["lr"] for g in opt.param_groups])
        for i, p in enumerate(params):
            p.grad = torch.full((1,), float(norms[step]) if i == 0 else 0.0, dtype=torch.float64)
        opt.step()
        with torch.no_grad():
            for p in params:
                p.zero_()
        sched.step()
    seen.append([g["lr"] for g in opt.param_groups])
    return np.array(seen), sched


def test_constant_norms_without_warmup_give_linear_decay_at_every_step():
    total = 120
    lrs, sched = drive(np.full(total, 0.7), total, warmup=0.0, replan_every=9)
    reference = parse_schedule("linear").values(total, endpoint=True)
    np.testing.assert_allclose(lrs[:, 0], reference, rtol=0, atol=1e-12)
    assert sorted(sched.replans) == list(range(12, 120, 9))


@pytest.mark.parametrize("future", FUTURE_MODELS)
def test_the_scheduler_follows_warmup_linear_then_the_joined_plans(future):
    total = 100
    rng = np.random.default_rng(3)
    norms = np.exp(np.linspace(1, -0.5, total) + 0.2 * rng.normal(size=total))
    lrs, sched = drive(norms, total, weighting="adam", future=future, replan_every=8, join_steps=5)
    expected = parse_schedule("warmup(linear,fraction=0.05)").values(total, endpoint=True)
    expected[-1] = 0.0
    for t in range(10, total, 8):
        expected[t:] = joined(expected[t:], online_plan(norms[:t], total, "adam", future), 5)
    np.testing.assert_array_equal(lrs[:, 0], expected)
    np.testing.assert_array_equal(sched.norms, norms[: max(sched.replans)])


def test_per_group_base_lrs_keep_their_ratio():
    total = 50
    norms = np.linspace(3, 1, total)
    lrs, _ = drive(norms, total, lrs=(0.1, 0.003), replan_every=5)
    np.testing.assert_allclose(lrs[:, 1], lrs[:, 0] * 0.03, rtol=1e-14)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.one_of(st.floats(1e-6, 1e3), st.just(0.0), st.floats(1e8, 1e12)),
        min_size=30,
        max_size=30,
    ),
    st.sampled_from(FUTURE_MODELS),
    st.integers(1, 7),
)
def test_lr_stays_within_the_peak_and_never_jumps_at_a_replan(norms, future, every):
    total = 30
    lrs, sched = drive(np.array(norms), total, weighting="sgd", future=future, replan_every=every, lrs=(0.5,))
    m = lrs[:, 0] / 0.5
    assert (m >= 0).all() and (m <= 1).all() and m[-1] == 0
    for t, plan in sched.replans.items():
        assert (plan >= 0).all() and (plan <= 1).all()
        # the multiplier of a re-planned step is what the schedule before the re-plan gave it
        before = parse_schedule("warmup(linear,fraction=0.05)").values(total, endpoint=True)
        for r in sorted(sched.replans):
            if r >= t:
                break
            before[r:] = joined(before[r:], sched.replans[r], sched.join_steps)
        assert m[t] == before[t]


def test_an_injected_loss_spike_does_not_raise_the_lr():
    total = 300
    norms = np.full(total, 2.0)
    spiked = norms.copy()
    spiked[95:102] = 1e9  # 7 steps of huge norms (a quarter of the 31-step window), just before the re-plan at 100
    calm, _ = drive(norms, total, replan_every=10)
    spike, _ = drive(spiked, total, replan_every=10)
    np.testing.assert_allclose(spike, calm, rtol=0, atol=1e-12)
    longer = norms.copy()
    longer[85:100] = 1e9  # the last 15 steps before the re-plan at 100: at the end of the seen norms the median
    lowered, _ = drive(longer, total, replan_every=10)  # counts them twice and sees them; the lr falls, never rises
    assert (lowered <= calm + 1e-12).all() and lowered[104, 0] < 0.5 * calm[104, 0]
    np.testing.assert_allclose(lowered[120:], calm[120:], atol=1e-12)  # in the middle, the median forgets it


def test_one_host_transfer_per_replan_and_none_in_between(monkeypatch):
    total = 60
    model = torch.nn.Linear(8, 1)
    opt = torch.optim.SGD(model.parameters(), lr=1e-2)  # (Adam reads its step counter with .item())
    sched = OnlineRefinedLR(opt, total, "adam", replan_every=10)
    transfers = []
    real_cpu, real_item, real_tolist = torch.Tensor.cpu, torch.Tensor.item, torch.Tensor.tolist
    monkeypatch.setattr(torch.Tensor, "cpu", lambda self, *a, **k: transfers.append("cpu") or real_cpu(self, *a, **k))
    monkeypatch.setattr(torch.Tensor, "item", lambda self: transfers.append("item") or real_item(self))
    monkeypatch.setattr(torch.Tensor, "tolist", lambda self: transfers.append("tolist") or real_tolist(self))
    x, y = torch.randn(16, 8), torch.randn(16, 1)
    for _ in range(total):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
        sched.step()
    assert transfers == ["cpu"] * len(sched.replans) and sorted(sched.replans) == [6, 16, 26, 36, 46, 56]


def test_gradient_accumulation_records_one_norm_per_optimizer_step():
    total, micro = 30, 3
    model = torch.nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = OnlineRefinedLR(opt, total, "sgd", replan_every=5)
    x, y = torch.randn(micro, 8, 4), torch.randn(micro, 8, 1)
    expected = []
    for _ in range(total):
        opt.zero_grad()
        for i in range(micro):
            (torch.nn.functional.mse_loss(model(x[i]), y[i]) / micro).backward()
        expected.append(torch.cat([p.grad.reshape(-1) for p in model.parameters()]).double().norm().item())
        opt.step()
        sched.step()
    sched._transfer()
    np.testing.assert_allclose(sched.norms, expected, rtol=1e-6)


def test_grad_scaler_gives_unscaled_norms_and_a_skipped_step_none():
    total = 20
    model = torch.nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    sched = OnlineRefinedLR(opt, total, "sgd", replan_every=4)
    x, y = torch.randn(8, 4), torch.randn(8, 1)
    expected = []
    for step in range(total):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        scaler.scale(loss * (float("inf") if step == 5 else 1.0)).backward()
        grads = torch.cat([p.grad.reshape(-1) for p in model.parameters()]).double() / scaler.get_scale()
        expected.append(grads.norm().item() if step != 5 else np.nan)
        scaler.step(opt)
        scaler.update()
        sched.step()
    sched._transfer()
    np.testing.assert_allclose(sched.norms, expected, rtol=1e-6)  # NaN where the scaler skipped the step


def test_trace_is_written_and_readable(tmp_path):
    total = 25
    model = torch.nn.Linear(4, 1)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    sched = OnlineRefinedLR(opt, total, "adam", replan_every=5, trace=tmp_path / "trace.csv")
    x, y = torch.randn(8, 4), torch.randn(8, 1)
    for _ in range(total):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
        sched.step()
    sched.close()
    trace = read_trace(tmp_path / "trace.csv")
    np.testing.assert_array_equal(trace.step, np.arange(total))
    np.testing.assert_allclose(trace.norms("grad_l1")[:20], sched.norms[:20], rtol=1e-12)


def test_the_plot_shows_every_replan(tmp_path):
    total = 80
    norms = np.concatenate([np.linspace(5, 1, 20), np.linspace(1, 3, 60)])
    _, sched = drive(norms, total, weighting="adam", replan_every=10)
    path = sched.plot(tmp_path / "online.png")
    assert path.stat().st_size > 10_000
    assert sorted(sched.replans) == list(range(8, 80, 10))


def test_bad_arguments_name_the_argument():
    opt = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1)
    with pytest.raises(ValueError, match="weighting='lion'"):
        OnlineRefinedLR(opt, 10, "lion")
    with pytest.raises(ValueError, match="future='oracle'"):
        OnlineRefinedLR(opt, 10, "sgd", future="oracle")
    with pytest.raises(ValueError, match="replan_every=0"):
        OnlineRefinedLR(opt, 10, "sgd", replan_every=0)
    with pytest.raises(ValueError, match="warmup=1.2"):
        OnlineRefinedLR(opt, 10, "sgd", warmup=1.2)
    with pytest.raises(ValueError, match="total_steps"):
        OnlineRefinedLR(opt, 0, "sgd")


def test_resume_with_other_settings_is_refused():
    opt = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1)
    state = OnlineRefinedLR(opt, 10, "sgd").state_dict()
    with pytest.raises(ValueError, match="future"):
        OnlineRefinedLR(opt, 10, "sgd", future="stretch").load_state_dict(state)


def _run_worker(*args: str) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    subprocess.run([sys.executable, "-m", "tests.torch._online_workers", *args], check=True, cwd=ROOT, env=env)


@pytest.mark.parametrize("stop", [16, 21])  # mid-way between re-plans, and exactly at one (14 + 7)
def test_a_run_resumed_in_a_fresh_process_gets_bitwise_the_same_lrs(tmp_path, stop):
    total = 50
    path = str(tmp_path / "run")
    _run_worker("full", path, str(total), str(stop))
    _run_worker("first", path, str(total), str(stop))
    _run_worker("resume", path, str(total), str(stop))
    full = torch.load(path + ".full", weights_only=True)
    first = torch.load(path + ".first", weights_only=True)
    resumed = torch.load(path + ".resume", weights_only=True)
    assert first["lrs"] + resumed["lrs"] == full["lrs"]  # floats compared exactly: bitwise
    assert torch.equal(resumed["multipliers"], full["multipliers"])
    assert len(set(full["lrs"][2 * 10 :])) > 20  # the lrs really move (two groups per step)


def test_ddp_ranks_plan_the_same_lrs_from_the_averaged_gradient(tmp_path):
    out = str(tmp_path / "ddp")
    mp.spawn(workers.ddp_worker, args=(2, _free_port(), out), nprocs=2, join=True)
    r0, r1 = (torch.load(f"{out}.{r}", weights_only=True) for r in range(2))
    assert r0["lrs"] == r1["lrs"]
    np.testing.assert_allclose(r0["recorded"], r0["norms"], rtol=1e-6)
    np.testing.assert_allclose(r0["norms"], r1["norms"], rtol=1e-6)  # DDP averages: both ranks see one gradient


def test_sharded_gradients_plan_from_the_full_norm_with_one_all_reduce_per_replan(tmp_path):
    out = str(tmp_path / "sharded")
    mp.spawn(workers.sharded_worker, args=(2, _free_port(), out), nprocs=2, join=True)
    r0, r1 = (torch.load(f"{out}.{r}", weights_only=True) for r in range(2))
    assert r0["lrs"] == r1["lrs"]
    np.testing.assert_allclose(r0["recorded"], r0["norms"], rtol=1e-6)
    assert r0["calls"] == len(r0["replans"]) == 6  # re-plans at 4, 10, ..., 34
    # a rank's own shard alone would give a smaller L1 norm: the planned norms are the whole gradient's
    assert r0["recorded"] == r1["recorded"]


def test_online_refined_lr_matches_schedule_lr_interface():
    opt = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1)
    sched = OnlineRefinedLR(opt, 10, "sgd", warmup=0.0)
    fixed = ScheduleLR(torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1), "linear", 10)
    assert sched.get_last_lr() == fixed.get_last_lr() == [0.1]
    with pytest.raises(ValueError, match="takes no epoch"):
        sched.step(3)


def test_the_docs_example_prints_what_the_docs_say(tmp_path, monkeypatch, capsys):
    text = (ROOT / "docs" / "refine.md").read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S) if "OnlineRefinedLR(optimizer" in b)
    monkeypatch.chdir(tmp_path)
    torch.set_num_threads(1)
    exec(compile(block, "docs/refine.md online block", "exec"), {"__name__": "__docs__"})
    printed = capsys.readouterr().out.splitlines()
    assert printed == ["re-plans at steps [30, 60, 90, 120, 150, 180, 210, 240, 270]", "lr at the end: 0.0"]
    assert all(f"`{line}`" in text for line in printed)  # the docs quote it
    assert (tmp_path / "online.png").stat().st_size > 10_000
