"""Mechanic against a numpy transcription of the paper's update (arXiv 2306.00144, Algorithm 1), resume, scheduler."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tuneless.torch.mechanic import Mechanic  # noqa: E402
from tuneless.torch.scheduler import ScheduleLR  # noqa: E402

BETAS = np.array([1 - 10.0**-k for k in range(1, 7)])


def least_squares(seed=0, n=40, d=8):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, d))
    b = A @ rng.normal(size=d) + 0.1 * rng.normal(size=n)
    x0 = rng.normal(size=d)
    return A, b, x0


def grad_np(A, b, x):
    return A.T @ (A @ x - b) / len(b)


class MechanicNumpy:
    """Transcription of Mechanic (arXiv 2306.00144, Algorithm 1).

    base(g, x, t, lr_multiplier) -> u_t. Uses eps inside the max for m and ||x|| + eps (the documented optax
    conventions, see tuneless.torch.mechanic).
    """

    def __init__(self, x0, base, lam=0.01, s_init=1e-8, eps=1e-8, clip_h=False):
        n = len(BETAS)
        self.base, self.lam, self.s_init, self.eps, self.clip_h = base, lam, s_init, eps, clip_h
        self.x_ref, self.x, self.delta = x0.copy(), x0.copy(), np.zeros_like(x0)
        self.m, self.v, self.r, self.s = np.zeros(n), np.zeros(n), np.zeros(n), np.full(n, s_init / n)
        self.t = 0

    def step(self, g, lr_multiplier=1.0):
        n, eps, x, delta = len(BETAS), self.eps, self.x, self.delta
        self.t += 1
        h = delta @ (g + self.lam * self.s.sum() * np.linalg.norm(g) * x / (np.linalg.norm(x) + eps))
        h_r = np.clip(h, -self.m, self.m) if self.clip_h else h
        self.m = np.maximum(BETAS * self.m, abs(h) + eps)
        self.v = BETAS**2 * self.v + h**2
        self.r = np.maximum(0.0, BETAS * self.r - self.s * h_r)
        self.s = (self.s_init / n * self.m + self.r) / (np.sqrt(self.v) + eps)
        self.delta = delta + self.base(g, x, self.t, lr_multiplier)
        self.x = self.x_ref + self.s.sum() * self.delta
        return self.x


def mechanic_numpy(A, b, x0, base, steps, lrs=None, **kw):
    ref = MechanicNumpy(x0, base, **kw)
    trajectory = [ref.step(grad_np(A, b, ref.x), 1.0 if lrs is None else lrs[t]).copy() for t in range(steps)]
    return np.array(trajectory), ref.s.sum()


def sgd_numpy(lr):
    return lambda g, x, t, mult: -lr * mult * g


def adam_numpy(lr, b1=0.9, b2=0.999, eps=1e-8):
    """Adam (Kingma & Ba 2015, Algorithm 1) as a base update u_t; its moments live in update.state."""

    def update(g, x, t, mult):
        state = update.state
        state["m"] = b1 * state["m"] + (1 - b1) * g
        state["v"] = b2 * state["v"] + (1 - b2) * g * g
        mhat = state["m"] / (1 - b1**t)
        vhat = state["v"] / (1 - b2**t)
        return -lr * mult * mhat / (np.sqrt(vhat) + eps)

    update.state = {"m": 0.0, "v": 0.0}
    return update


def mechanic_torch(A, b, x0, make_optimizer, steps, schedule=None, **kw):
    At, bt = torch.tensor(A), torch.tensor(b)
    x = torch.nn.Parameter(torch.tensor(x0))
    opt = Mechanic(make_optimizer([x]), **kw)
    sched = ScheduleLR(opt, schedule, steps) if schedule else None
    trajectory = []
    for _ in range(steps):
        opt.zero_grad()
        loss = 0.5 * ((At @ x - bt) ** 2).mean()
        loss.backward()
        opt.step()
        if sched:
            sched.step()
        trajectory.append(x.detach().numpy().copy())
    return np.array(trajectory), opt


BASES = [
    ("sgd", lambda p: torch.optim.SGD(p, lr=1.0), lambda: sgd_numpy(1.0)),
    ("adam", lambda p: torch.optim.Adam(p, lr=0.01), lambda: adam_numpy(0.01)),
]


@pytest.mark.parametrize(("name", "make_torch", "make_np"), BASES)
@pytest.mark.parametrize("clip_h", [False, True])
@pytest.mark.parametrize("store_delta", [True, False])
def test_trajectory_matches_numpy_transcription(name, make_torch, make_np, clip_h, store_delta):
    """Free-running trajectories agree while rounding differences stay small (the first 60 steps).

    Mechanic on a deterministic problem is chaotic: in the numpy reference itself, x0 * (1 + 1e-13) ends O(1) away
    after 200 steps, so a free-running 200-step comparison measures rounding, not correctness. The 200-step check
    is the lockstep test below.
    """
    A, b, x0 = least_squares()
    expected, expected_scale = mechanic_numpy(A, b, x0, make_np(), 60, clip_h=clip_h)
    got, opt = mechanic_torch(A, b, x0, make_torch, 60, clip_h=clip_h, store_delta=store_delta)
    # recomputing Delta = (x - x_ref) / S costs about 1e-9 here (rounding of x at S ~ 1e-8 early in the run)
    assert np.max(np.abs(got - expected)) < (1e-12 if store_delta else 1e-6)
    assert opt.scale == pytest.approx(expected_scale, rel=1e-12 if store_delta else 1e-6)
    assert expected_scale > 100 * 1e-8  # the tuner moved: the run is not decided by s_init alone


@pytest.mark.parametrize(("name", "make_torch", "make_np"), BASES)
@pytest.mark.parametrize("clip_h", [False, True])
def test_each_of_200_steps_matches_numpy_transcription(name, make_torch, make_np, clip_h):
    """Lockstep over 200 steps: before each step the reference takes our state, then both step; x must agree."""
    A, b, x0 = least_squares()
    At, bt = torch.tensor(A), torch.tensor(b)
    x = torch.nn.Parameter(torch.tensor(x0))
    opt = Mechanic(make_torch([x]), clip_h=clip_h)
    base = make_np()
    ref = MechanicNumpy(x0, base, clip_h=clip_h)
    worst = 0.0
    for _ in range(200):
        if opt.tuner is not None:
            ref.x, ref.delta = x.detach().numpy().copy(), opt.state[x]["delta"].numpy().copy()
            ref.m, ref.v, ref.r, ref.s = (opt.tuner[k].numpy().copy() for k in "mvrs")
            if name == "adam":
                adam = opt.base.state[x]
                base.state.update(m=adam["exp_avg"].numpy().copy(), v=adam["exp_avg_sq"].numpy().copy())
        expected = ref.step(grad_np(A, b, ref.x)).copy()
        opt.zero_grad()
        (0.5 * ((At @ x - bt) ** 2).mean()).backward()
        opt.step()
        worst = max(worst, np.max(np.abs(x.detach().numpy() - expected)) / (1 + np.max(np.abs(expected))))
    assert worst < 1e-12
    assert opt.scale > 1e-4


def test_scheduler_scales_the_base_update():
    A, b, x0 = least_squares(1)
    T = 60
    from tuneless.schedules import parse_schedule

    mult = parse_schedule("warmup(linear,fraction=0.1)").values(T)
    expected, _ = mechanic_numpy(A, b, x0, sgd_numpy(0.05), T, lrs=mult)
    sgd = lambda p: torch.optim.SGD(p, lr=0.05)
    got, opt = mechanic_torch(A, b, x0, sgd, T, schedule="warmup(linear,fraction=0.1)")
    assert np.max(np.abs(got - expected)) < 1e-6
    assert opt.param_groups is opt.base.param_groups


def test_param_groups_frozen_and_missing_grads():
    torch.manual_seed(0)
    a = torch.nn.Parameter(torch.randn(3, dtype=torch.float64))
    b = torch.nn.Parameter(torch.randn(2, dtype=torch.float64))
    frozen = torch.nn.Parameter(torch.randn(2, dtype=torch.float64), requires_grad=False)
    opt = Mechanic(torch.optim.SGD, [{"params": [a, frozen]}, {"params": [b], "lr": 0.01}], lr=0.1)
    frozen_before = frozen.detach().clone()
    for t in range(5):
        opt.zero_grad(set_to_none=True)
        loss = (a**2).sum() + ((b - 1) ** 2).sum() if t < 3 else (a**2).sum()
        loss.backward()
        opt.step()
        if t == 2:
            b_delta = opt.state[b]["delta"].clone()
            b_ref = opt.state[b]["x_ref"]
    assert torch.equal(frozen, frozen_before)
    assert frozen not in opt.state
    assert b.grad is None
    # b got no gradient in the last two steps: its Delta is unchanged and it follows x_ref + S * Delta
    assert torch.equal(opt.state[b]["delta"], b_delta)
    torch.testing.assert_close(b.detach(), b_ref + opt.scale * b_delta, rtol=1e-12, atol=1e-15)


RESUME_SCRIPT = textwrap.dedent(
    """
    import sys, torch
    from tuneless.torch.mechanic import Mechanic
    from tuneless.torch.scheduler import ScheduleLR
    torch.set_num_threads(1)
    mode, path, K, T, store = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1"
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    model[0].bias.requires_grad_(False)
    model.double()  # recomputed Delta needs x_ref + S * Delta to differ from x_ref: float32 stalls at S ~ 1e-8
    X, y = torch.randn(32, 4, dtype=torch.float64), torch.randn(32, 1, dtype=torch.float64)
    groups = [{"params": model[0].parameters()}, {"params": model[2].parameters(), "lr": 3e-3}]
    opt = Mechanic(torch.optim.AdamW, groups, lr=1e-2, weight_decay=0.1, store_delta=store, clip_h=True)
    sched = ScheduleLR(opt, "warmup(cosine,fraction=0.1)", T)
    start = 0
    if mode == "resume":
        ck = torch.load(path, weights_only=True)
        model.load_state_dict(ck["model"]); opt.load_state_dict(ck["opt"]); sched.load_state_dict(ck["sched"])
        start = K
    for t in range(start, T if mode != "first" else K):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(X[t % 4 * 8:(t % 4 + 1) * 8]), y[t % 4 * 8:(t % 4 + 1) * 8]).backward()
        opt.step(); sched.step()
    if mode == "first":
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict()}, path)
    else:
        torch.save({k: v for k, v in model.state_dict().items()}, path + "." + mode)
    """
)


@pytest.mark.parametrize("store_delta", [True, False])
def test_resume_in_fresh_process_is_exact(tmp_path, store_delta):
    script = tmp_path / "run.py"
    script.write_text(RESUME_SCRIPT)
    ck = str(tmp_path / "ck.pt")
    store = "1" if store_delta else "0"

    def run(mode):
        subprocess.run([sys.executable, str(script), mode, ck, "7", "20", store], check=True)

    run("first")
    run("resume")
    run("full")
    resumed = torch.load(ck + ".resume", weights_only=True)
    full = torch.load(ck + ".full", weights_only=True)
    assert resumed.keys() == full.keys()
    for k in full:
        assert torch.equal(resumed[k], full[k]), k
    initial = torch.load(ck, weights_only=True)["model"]
    assert not torch.equal(full["0.weight"], initial["0.weight"])  # it trained past the checkpoint


def test_added_param_group_gets_base_defaults_and_is_tuned():
    a = torch.nn.Parameter(torch.ones(2, dtype=torch.float64))
    b = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
    opt = Mechanic(torch.optim.SGD, [a], lr=0.1, momentum=0.5)
    opt.add_param_group({"params": [b], "lr": 0.2})
    assert opt.param_groups is opt.base.param_groups and len(opt.param_groups) == 2
    assert opt.param_groups[1]["momentum"] == 0.5
    for _ in range(3):
        opt.zero_grad()
        ((a**2).sum() + (b**2).sum()).backward()
        opt.step()
    torch.testing.assert_close(b.detach(), opt.state[b]["x_ref"] + opt.scale * opt.state[b]["delta"])
    assert not torch.equal(b.detach(), torch.ones(3, dtype=torch.float64))


def test_arguments_are_checked():
    p = [torch.nn.Parameter(torch.zeros(2))]
    with pytest.raises(ValueError, match="betas must be"):
        Mechanic(torch.optim.SGD, p, lr=0.1, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="s_init must be > 0, got 0"):
        Mechanic(torch.optim.SGD, p, lr=0.1, s_init=0.0)
    with pytest.raises(ValueError, match="params are required"):
        Mechanic(torch.optim.SGD)
    with pytest.raises(ValueError, match="not an instance"):
        Mechanic(torch.optim.SGD(p, lr=0.1), p)
    with pytest.raises(ValueError, match="must be a torch.optim.Optimizer"):
        Mechanic("adam", p)
    saved = Mechanic(torch.optim.SGD, p, lr=0.1).state_dict()
    with pytest.raises(ValueError, match=r"the checkpoint's clip_h=False \(this Mechanic: True\)$"):
        Mechanic(torch.optim.SGD, p, lr=0.1, clip_h=True).load_state_dict(saved)
