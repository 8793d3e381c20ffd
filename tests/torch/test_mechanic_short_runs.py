"""Mechanic's short-run options (restart_factor, freeze_after): what each promises, against plain Mechanic."""

from __future__ import annotations

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tuneless.torch.mechanic import Mechanic  # noqa: E402


def problem(seed=0, n=60, d=6):
    rng = np.random.default_rng(seed)
    A = torch.tensor(rng.normal(size=(n, d)))
    b = A @ torch.tensor(rng.normal(size=d)) * 3 + 0.1 * torch.tensor(rng.normal(size=n))
    return A, b, torch.tensor(rng.normal(size=d))


def run(opt, x, A, b, steps, record=None):
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * ((A @ x - b) ** 2).mean()).backward()
        opt.step()
        if record is not None:
            record.append((x.detach().clone(), opt.scale, opt.restarts))


@pytest.mark.parametrize("store_delta", [True, False])
def test_restart_keeps_iterate_and_scale_and_continues_as_a_fresh_mechanic(store_delta):
    """A restart forgets the history only: from the restart on, the run is a new Mechanic (plain SGD base) started
    at the restart's weights with s_init = the scale there."""
    A, b, x0 = problem()
    x = torch.nn.Parameter(x0.clone())
    opt = Mechanic(torch.optim.SGD, [x], lr=0.1, restart_factor=10.0, store_delta=store_delta)
    record: list = []
    run(opt, x, A, b, 60, record)
    first = next(i for i, (_, _, restarts) in enumerate(record) if restarts == 1)
    assert opt.restarts >= 2  # from 1e-8, the scale grows by several decades on this problem
    x_at, scale_at, _ = record[first]
    fresh_x = torch.nn.Parameter(x_at.clone())
    fresh = Mechanic(torch.optim.SGD, [fresh_x], lr=0.1, restart_factor=10.0, s_init=scale_at, store_delta=store_delta)
    fresh_record: list = []
    run(fresh, fresh_x, A, b, 59 - first, fresh_record)
    for (xa, sa, ra), (xb, sb, rb) in zip(record[first + 1 :], fresh_record, strict=True):
        torch.testing.assert_close(xa, xb, rtol=1e-9, atol=1e-12)
        assert sa == pytest.approx(sb, rel=1e-9)
        assert ra == rb + 1


def test_restart_fires_each_time_the_scale_grew_tenfold():
    A, b, x0 = problem(1)
    x = torch.nn.Parameter(x0.clone())
    opt = Mechanic(torch.optim.SGD, [x], lr=0.1, restart_factor=10.0)
    record: list = []
    run(opt, x, A, b, 80, record)
    pairs = zip(record[1:], record[:-1], strict=True)
    starts = [1e-8] + [scale for (_, scale, r), (_, _, r_prev) in pairs if r > r_prev]
    if record[0][2] == 1:
        starts.insert(1, record[0][1])
    assert len(starts) - 1 == opt.restarts
    assert all(later > 10 * earlier for earlier, later in zip(starts, starts[1:], strict=False))
    # without the option the same run never restarts and ends elsewhere
    y = torch.nn.Parameter(x0.clone())
    plain = Mechanic(torch.optim.SGD, [y], lr=0.1)
    run(plain, y, A, b, 80)
    assert plain.restarts == 0 and not torch.allclose(x, y)


@pytest.mark.parametrize("restart_factor", [None, 10.0])
def test_frozen_scale_makes_plain_scaled_steps(restart_factor):
    """After freeze_after steps the scale stays put and each step is x <- x - S * lr * g (SGD base)."""
    A, b, x0 = problem(2)
    x = torch.nn.Parameter(x0.clone())
    opt = Mechanic(torch.optim.SGD, [x], lr=0.1, freeze_after=25, restart_factor=restart_factor)
    run(opt, x, A, b, 25)
    scale = opt.scale
    for _ in range(20):
        before = x.detach().clone()
        opt.zero_grad()
        (0.5 * ((A @ x - b) ** 2).mean()).backward()
        expected = before - scale * 0.1 * x.grad
        opt.step()
        torch.testing.assert_close(x.detach(), expected, rtol=1e-10, atol=1e-12)
        assert opt.scale == scale
    # the first 25 steps were Mechanic's own
    y = torch.nn.Parameter(x0.clone())
    plain = Mechanic(torch.optim.SGD, [y], lr=0.1, restart_factor=restart_factor)
    run(plain, y, A, b, 25)
    assert plain.scale == pytest.approx(scale, rel=1e-12)


def test_short_run_options_resume_exactly():
    A, b, x0 = problem(3)
    x = torch.nn.Parameter(x0.clone())
    opt = Mechanic(torch.optim.Adam, [x], lr=0.01, restart_factor=10.0, freeze_after=40)
    run(opt, x, A, b, 30)
    saved, saved_x = copy.deepcopy(opt.state_dict()), x.detach().clone()  # torch's state_dict shares tensors
    run(opt, x, A, b, 30)
    y = torch.nn.Parameter(saved_x)
    resumed = Mechanic(torch.optim.Adam, [y], lr=0.01, restart_factor=10.0, freeze_after=40)
    resumed.load_state_dict(saved)
    run(resumed, y, A, b, 30)
    torch.testing.assert_close(x, y, rtol=0, atol=0)
    assert resumed.restarts == opt.restarts > 0
    with pytest.raises(ValueError, match=r"the checkpoint's restart_factor=10.0 \(this Mechanic: None\)$"):
        Mechanic(torch.optim.Adam, [y], lr=0.01, freeze_after=40).load_state_dict(saved)
    with pytest.raises(ValueError, match=r"freeze_after=40 \(this Mechanic: 8\); freeze_after comes from the run's"):
        Mechanic(torch.optim.Adam, [y], lr=0.01, restart_factor=10.0, freeze_after=8).load_state_dict(saved)
    with pytest.raises(ValueError, match="this is not a Mechanic's state \\(a plain optimizer's"):
        resumed.load_state_dict(torch.optim.Adam([y], lr=0.01).state_dict())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"restart_factor": 1.0}, "restart_factor must be > 1"),
        ({"restart_factor": -3}, "restart_factor must be > 1"),
        ({"freeze_after": 0}, "freeze_after must be an integer >= 1"),
        ({"freeze_after": 2.5}, "freeze_after must be an integer >= 1"),
    ],
)
def test_bad_short_run_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Mechanic(torch.optim.SGD, [torch.nn.Parameter(torch.zeros(2))], lr=0.1, **kwargs)
