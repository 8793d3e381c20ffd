"""Our closed forms against torch's own recursive schedulers, at every step."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is an optional extra: pip install tuneless[torch]")

from tuneless import schedules as S  # noqa: E402


def torch_lrs(make_scheduler, steps, lr=1.0, momentum=0.0):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=lr, momentum=momentum)
    sched = make_scheduler(opt)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    out.append(opt.param_groups[0]["lr"])
    return np.array(out)


@pytest.mark.parametrize("T", [10, 97, 1000])
@pytest.mark.parametrize("floor", [0.0, 0.1])
def test_cosine_matches_cosine_annealing_lr(T, floor):
    ref = torch_lrs(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=T, eta_min=floor), T)
    np.testing.assert_allclose(S.cosine(floor=floor).values(T, endpoint=True), ref, atol=1e-6, rtol=0)


@pytest.mark.parametrize("T", [20, 99, 1000])
def test_onecycle_matches_onecycle_lr_with_default_arguments(T):
    # final value at t = T  <=>  OneCycleLR(total_steps=T + 1), stepped T times
    ref = torch_lrs(lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=T + 1), T, momentum=0.9)
    np.testing.assert_allclose(S.onecycle().values(T, endpoint=True), ref, atol=1e-6, rtol=0)


def test_step_exponential_polynomial_match_torch():
    T = 200
    ref = torch_lrs(lambda o: torch.optim.lr_scheduler.MultiStepLR(o, [60, 120, 180], gamma=0.1), T)
    np.testing.assert_allclose(S.step().values(T, endpoint=True), ref, rtol=1e-9)
    ref = torch_lrs(lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.01 ** (1 / T)), T)
    np.testing.assert_allclose(S.exponential(final=0.01).values(T, endpoint=True), ref, rtol=1e-6)
    ref = torch_lrs(lambda o: torch.optim.lr_scheduler.PolynomialLR(o, total_iters=T, power=2.0), T)
    np.testing.assert_allclose(S.polynomial(power=2).values(T, endpoint=True), ref, atol=1e-9)
