"""AutoLR: the pilot on a quadratic whose stability limit is known, the restore, the run, resume, bad inputs."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import torch
from tuneless.auto.pilot import Pilot
from tuneless.schedules import as_schedule
from tuneless.torch.auto import AutoLR


def quadratic(curvature: float, dim: int = 3):
    """f(x) = curvature/2 ||x - 1||^2 from x = 0: gradient descent is stable exactly for lr < 2/curvature."""
    x = torch.nn.Parameter(torch.zeros(dim, dtype=torch.float64))

    def loss():
        return 0.5 * curvature * (x - 1).pow(2).sum()

    return x, loss


def run(auto, optimizer, loss_fn, steps):
    for _ in range(steps):
        loss = loss_fn()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        auto.step(loss)


def expected_cap(curvature: float, pilot: Pilot) -> float:
    """The recurrence by hand: loss_k = L0 * prod_{j<k} (1 - lr_j c)^2; unstable at the first loss above 1.5 x the
    median of the first three."""
    losses = [1.0]
    for k in range(pilot.steps - 1):
        losses.append(losses[-1] * (1 - pilot.lr(k) * curvature) ** 2)
    reference = sorted(losses[:3])[1]
    return next(pilot.lr(k) for k in range(3, pilot.steps) if losses[k] > 1.5 * reference)


@settings(deadline=None, max_examples=25)
@given(st.floats(0.05, 1e3))
def test_cap_on_a_quadratic_is_the_recurrence_and_above_the_stability_limit(curvature):
    x, loss_fn = quadratic(curvature)
    optimizer = torch.optim.SGD([x], lr=1.0)
    auto = AutoLR(optimizer, 1000, "sgd", ratio=0.5)
    run(auto, optimizer, loss_fn, auto.pilot_steps)
    assert auto.result.unstable
    assert auto.result.cap == pytest.approx(expected_cap(curvature, auto.pilot), rel=1e-12)
    assert auto.result.cap > 2 / curvature  # a stable lr is never called unstable
    assert auto.peak_lr == pytest.approx(0.5 * auto.result.cap, rel=1e-12)


def test_the_pilot_leaves_no_trace_and_the_run_follows_the_schedule():
    x, loss_fn = quadratic(4.0)
    optimizer = torch.optim.SGD([x], lr=1.0, momentum=0.9)
    auto = AutoLR(optimizer, 200, "sgd", ratio={"cap": 0.25, "min_loss": 1.0})
    assert (auto.pilot_steps, auto.run_steps, auto.total_steps) == (20, 200, 220)
    seen = []
    for _ in range(auto.pilot_steps):
        seen.append(optimizer.param_groups[0]["lr"])
        run(auto, optimizer, loss_fn, 1)
    # the ramp, then lr 0 once the pilot saw instability
    k = auto.result.step
    assert seen[: k + 1] == pytest.approx([auto.pilot.lr(i) for i in range(k + 1)], rel=1e-12)
    assert all(lr == 0.0 for lr in seen[k + 1 :])
    # back to the start: weights and optimizer state as before the pilot
    assert torch.equal(x.detach(), torch.zeros(3, dtype=torch.float64))
    assert optimizer.state_dict()["state"] == {}
    features = auto.result.features
    assert auto.peak_lr == pytest.approx(min(0.25 * features["cap"], features["min_loss"]), rel=1e-12)
    schedule = as_schedule("warmup(linear,fraction=0.05)")
    lrs = []
    for _ in range(auto.run_steps):
        lrs.append(optimizer.param_groups[0]["lr"])
        run(auto, optimizer, loss_fn, 1)
    expected = [auto.peak_lr * schedule(t, 200) for t in range(200)]
    np.testing.assert_allclose(lrs, expected, rtol=1e-12)
    assert optimizer.param_groups[0]["lr"] == 0.0
    assert abs(float(x.detach()[0]) - 1.0) < 1e-3  # and it trained


def test_model_buffers_are_restored():
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 1))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    optimizer = torch.optim.Adam(model.parameters(), lr=1.0)
    auto = AutoLR(optimizer, 100, "adam", ratio=0.1, model=model)
    data = torch.randn(64, 4)

    def loss_fn():
        return model(data).pow(2).mean()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run(auto, optimizer, loss_fn, auto.pilot_steps)
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_resume_after_the_pilot_is_exact():
    x, loss_fn = quadratic(2.0)
    optimizer = torch.optim.SGD([x], lr=1.0)
    auto = AutoLR(optimizer, 100, "sgd", ratio=0.5)
    run(auto, optimizer, loss_fn, auto.pilot_steps + 30)
    state = auto.state_dict()
    x2, _ = quadratic(2.0)
    optimizer2 = torch.optim.SGD([x2], lr=1.0)
    optimizer2.load_state_dict(optimizer.state_dict())
    resumed = AutoLR(optimizer2, 100, "sgd", ratio=0.5)
    resumed.load_state_dict(state)
    assert resumed.peak_lr == auto.peak_lr and resumed.result == auto.result
    for _ in range(20):
        auto.step()
        resumed.step()
        assert optimizer2.param_groups[0]["lr"] == optimizer.param_groups[0]["lr"]
    with pytest.raises(ValueError, match="for 10 pilot \\+ 100 run steps; this scheduler has 20 \\+ 200"):
        AutoLR(torch.optim.SGD([x2], lr=1.0), 200, "sgd", ratio=0.5).load_state_dict(state)


def test_a_flat_loss_falls_back_to_the_calibrated_lr_with_a_warning():
    x = torch.nn.Parameter(torch.zeros(2))
    optimizer = torch.optim.SGD([x], lr=1.0)
    auto = AutoLR(optimizer, 100, "sgd")

    def loss_fn():
        return (x * 0).sum() + 1.0  # no lr makes it worse

    with pytest.warns(
        UserWarning,
        match=r"never rose above 1.5 x 1 \(the untrained loss\) up to lr 1000; running at the sgd family's calibrated",
    ):
        run(auto, optimizer, loss_fn, auto.pilot_steps)
    assert auto.peak_lr == pytest.approx(auto._fallback_lr)


def test_bad_inputs_are_one_line_errors():
    x = torch.nn.Parameter(torch.zeros(2))
    optimizer = torch.optim.SGD([x], lr=1.0)
    with pytest.raises(ValueError, match="family='lion' is unknown"):
        AutoLR(optimizer, 100, "lion")
    with pytest.raises(ValueError, match="total_steps=0 must be an integer > 0"):
        AutoLR(optimizer, 0, "sgd")
    with pytest.raises(ValueError, match="ratio=.*finite numbers > 0"):
        AutoLR(optimizer, 100, "sgd", ratio=-1.0)
    with pytest.raises(ValueError, match="method='adagrad' has no calibrated ratio"):
        AutoLR(optimizer, 100, "sgd", method="adagrad")
    auto = AutoLR(optimizer, 100, "sgd", ratio=0.5)
    with pytest.raises(ValueError, match=r"the pilot needs each step's loss \(scheduler.step\(loss\)\)"):
        auto.step()
    with pytest.raises(ValueError, match="training diverges at every lr"):
        auto.step(float("nan"))


def test_schedule_free_keeps_its_train_mode_through_the_restore():
    schedulefree = pytest.importorskip("schedulefree")  # the bench extra, installed by `make test`
    x, loss_fn = quadratic(1.0)
    optimizer = schedulefree.SGDScheduleFree([x], lr=1.0, warmup_steps=5)
    optimizer.train()
    auto = AutoLR(optimizer, 100, "sgd", schedule="constant", ratio={"min_loss": 0.05})
    run(auto, optimizer, loss_fn, auto.total_steps)  # would raise "not in train mode" after a naive restore
    assert optimizer.param_groups[0]["train_mode"]
    optimizer.eval()
    assert abs(float(x.detach()[0]) - 1.0) < 0.05  # and the run trained


@settings(deadline=None, max_examples=200)
@given(st.integers(11, 100_000), st.sampled_from([0.1, 0.05, 0.25]))
def test_within_fits_pilot_and_run_into_the_given_steps(steps, fraction):
    x = torch.nn.Parameter(torch.zeros(1))
    auto = AutoLR.within(torch.optim.SGD([x], lr=1.0), steps, "sgd", ratio=0.5, pilot_fraction=fraction)
    assert auto.total_steps == auto.pilot_steps + auto.run_steps == steps
    own = Pilot.for_run(auto.run_steps, "sgd", fraction).steps  # the pilot AutoLR(run_steps) runs
    assert auto.pilot_steps in (own, own + 1)
    longer = auto.run_steps + 1
    assert longer + Pilot.for_run(longer, "sgd", fraction).steps > steps  # the longest run that fits
    if auto.pilot_steps == own + 1:  # only where no run has its own pilot fill the steps exactly
        assert all(t + Pilot.for_run(t, "sgd", fraction).steps != steps for t in range(max(1, longer - 3), longer + 3))


def test_within_is_autolr_of_the_run_where_it_fits_exactly():
    x = torch.nn.Parameter(torch.zeros(1))
    for run_steps in (1, 99, 100, 110, 1000):
        plain = AutoLR(torch.optim.SGD([x], lr=1.0), run_steps, "sgd", ratio=0.5)
        within = AutoLR.within(torch.optim.SGD([x], lr=1.0), plain.total_steps, "sgd", ratio=0.5)
        assert (within.pilot, within.run_steps) == (plain.pilot, plain.run_steps)
    assert AutoLR.within(torch.optim.SGD([x], lr=1.0), 120, "sgd").pilot_steps == 11  # 109 + 10 < 120 < 110 + 11
    with pytest.raises(ValueError, match="steps=10: AutoLR needs at least 11 optimizer steps"):
        AutoLR.within(torch.optim.SGD([x], lr=1.0), 10, "sgd")
    with pytest.raises(ValueError, match="family='lion' is unknown"):
        AutoLR.within(torch.optim.SGD([x], lr=1.0), 100, "lion")


def test_the_optimizer_lrs_are_relative_factors():
    x, loss_fn = quadratic(4.0)
    y = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
    optimizer = torch.optim.SGD([{"params": [x]}, {"params": [y], "lr": 3e-4}], lr=3e-3)  # not 1.0: no matter
    auto = AutoLR(optimizer, 100, "sgd", ratio=0.25)
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([auto.pilot.lr(0), 0.1 * auto.pilot.lr(0)])
    run(auto, optimizer, loss_fn, auto.pilot_steps + 10)
    top = auto.peak_lr * as_schedule("warmup(linear,fraction=0.05)")(10, 100)
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([top, 0.1 * top], rel=1e-12)
    with pytest.raises(ValueError, match="AutoLR needs finite relative lrs, the largest > 0"):
        AutoLR(torch.optim.SGD([x], lr=0.0), 100, "sgd")


def test_set_step_loss_stands_for_the_loss_of_step():
    x, loss_fn = quadratic(4.0)
    optimizer = torch.optim.SGD([x], lr=1.0)
    given = AutoLR(optimizer, 100, "sgd", ratio=0.5)
    x2, loss_fn2 = quadratic(4.0)
    optimizer2 = torch.optim.SGD([x2], lr=1.0)
    passed = AutoLR(optimizer2, 100, "sgd", ratio=0.5)
    for _ in range(given.pilot_steps):
        loss, loss2 = loss_fn(), loss_fn2()
        for o, step_loss in ((optimizer, loss), (optimizer2, loss2)):
            o.zero_grad()
            step_loss.backward()
            o.step()
        given.set_step_loss(float("nan"))  # replaced by the next call
        given.set_step_loss(loss)
        given.step()
        passed.step(loss2)
    assert given.losses == passed.losses and given.peak_lr == passed.peak_lr
    given.set_step_loss(1.0)  # after the pilot: not kept, step() needs no loss
    given.step()
    assert given._step_loss is None


def test_a_checkpoint_saved_during_the_pilot_resumes_it_exactly(tmp_path):
    def fresh():
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.BatchNorm1d(8), torch.nn.Linear(8, 1))
        optimizer = torch.optim.AdamW(model.parameters(), lr=1.0)
        return model, optimizer, AutoLR(optimizer, 100, "adam", ratio=0.1, model=model)

    data = torch.randn(64, 3, generator=torch.Generator().manual_seed(1))
    target = data.sum(1, keepdim=True)

    def train(model, optimizer, auto, steps):
        lrs = []
        for _ in range(steps):
            loss = torch.nn.functional.mse_loss(model(data), target)
            optimizer.zero_grad()
            loss.backward()
            lrs.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            auto.step(loss)
        return lrs

    model, optimizer, auto = fresh()
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    full = train(model, optimizer, auto, auto.total_steps)

    model, optimizer, auto = fresh()
    first = train(model, optimizer, auto, 4)  # mid-pilot (10 steps)
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "auto": auto.state_dict()},
               tmp_path / "ckpt.pt")  # fmt: skip
    saved = torch.load(tmp_path / "ckpt.pt", weights_only=True)
    model, optimizer, auto = fresh()
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    auto.load_state_dict(saved["auto"])
    assert auto.in_pilot and auto.last_epoch == 4
    rest = train(model, optimizer, auto, auto.pilot_steps - 4)
    for key, value in model.state_dict().items():  # the snapshot came back from the checkpoint
        assert torch.equal(value, initial[key]), key
    rest += train(model, optimizer, auto, auto.run_steps)
    assert first + rest == full  # the same lrs, step for step
    assert auto.state_dict()["snapshot"] is None  # after the pilot: plain numbers


def test_optimizer_family_from_the_class():
    from tuneless.torch import NAdamW
    from tuneless.torch.auto import optimizer_family

    x = [torch.nn.Parameter(torch.zeros(1))]
    assert optimizer_family(torch.optim.SGD(x, lr=1.0)) == "sgd"
    assert optimizer_family(torch.optim.AdamW(x)) == optimizer_family(torch.optim.Adam(x)) == "adam"
    assert optimizer_family(NAdamW(x)) == "adam"
    with pytest.raises(ValueError, match="optimizer Adagrad: AutoLR cannot tell its family; pass family="):
        optimizer_family(torch.optim.Adagrad(x))
