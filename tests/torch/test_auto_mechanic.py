"""AutoLR over Mechanic: the pilot goes through to the base optimizer, then seeds Mechanic's scale; resume; errors."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tuneless.schedules import as_schedule  # noqa: E402
from tuneless.torch import ScheduleLR  # noqa: E402
from tuneless.torch.auto import AutoLR, optimizer_family  # noqa: E402
from tuneless.torch.mechanic import Mechanic  # noqa: E402


def problem(seed=0, n=80, d=5):
    """Least squares from x = 0: a loss that rises once the lr passes 2 / the largest curvature."""
    rng = np.random.default_rng(seed)
    A = torch.tensor(rng.normal(size=(n, d)))
    b = A @ torch.tensor(rng.normal(size=d)) + 0.1 * torch.tensor(rng.normal(size=n))
    return A, b


def train(optimizer, scheduler, x, A, b, steps, log=None):
    for _ in range(steps):
        loss = 0.5 * ((A @ x - b) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        if log is not None:
            log.append((x.detach().clone(), optimizer.param_groups[0]["lr"]))
        optimizer.step()
        if isinstance(scheduler, AutoLR):
            scheduler.step(loss)
        else:
            scheduler.step()


def mechanic(x, **kwargs):
    return Mechanic(torch.optim.SGD([x], lr=1.0, momentum=0.9), restart_factor=10.0, freeze_after=50, **kwargs)


def test_the_pilot_is_the_base_optimizers_then_the_scale_starts_at_a_tenth_of_the_min_loss_lr():
    A, b = problem()
    x = torch.nn.Parameter(torch.zeros(5, dtype=torch.float64))
    opt = mechanic(x)
    auto = AutoLR(opt, 200, "sgd")
    # the same pilot with the bare base optimizer: same lrs, same weights, same losses, same measurement
    y = torch.nn.Parameter(torch.zeros(5, dtype=torch.float64))
    plain_opt = torch.optim.SGD([y], lr=1.0, momentum=0.9)
    plain = AutoLR(plain_opt, 200, "sgd", ratio={"min_loss": 0.1})
    seen, plain_seen = [], []
    train(opt, auto, x, A, b, auto.pilot_steps - 1, seen)
    train(plain_opt, plain, y, A, b, plain.pilot_steps - 1, plain_seen)
    for (xa, lra), (xb, lrb) in zip(seen, plain_seen, strict=True):
        assert torch.equal(xa, xb) and lra == lrb
    assert opt.tuner is None and opt.paused  # nothing learned during the pilot
    train(opt, auto, x, A, b, 1)
    train(plain_opt, plain, y, A, b, 1)
    assert auto.losses == plain.losses and auto.result == plain.result and auto.result.unstable
    # after it: the weights are back at the start, Mechanic starts at 0.1 x the min-loss lr, the schedule at peak 1
    assert torch.equal(x.detach(), torch.zeros(5, dtype=torch.float64)) and not opt.paused
    assert auto.seed_scale == pytest.approx(0.1 * auto.result.min_loss_lr, rel=1e-12) == plain.peak_lr
    assert opt.scale == pytest.approx(auto.seed_scale, rel=1e-12) and opt.restarts == 0 and auto.peak_lr == 1.0
    schedule = as_schedule("warmup(linear,fraction=0.05)")
    log = []
    train(opt, auto, x, A, b, auto.run_steps, log)
    np.testing.assert_allclose([lr for _, lr in log], [schedule(t, 200) for t in range(200)], rtol=1e-12)
    loss = float(0.5 * ((A @ x.detach() - b) ** 2).mean())
    best = torch.linalg.lstsq(A, b.unsqueeze(1)).solution.squeeze(1)
    assert loss < 1.01 * float(0.5 * ((A @ best - b) ** 2).mean())  # and it trained to the least-squares loss


def test_the_run_is_a_mechanic_started_at_the_seed():
    """After the pilot, AutoLR + Mechanic is step for step a fresh Mechanic with s_init = the seed under the
    schedule at peak 1.0 (the seed replaces s_init; nothing else of the pilot is left)."""
    A, b = problem(1)
    x = torch.nn.Parameter(torch.zeros(5, dtype=torch.float64))
    opt = mechanic(x)
    auto = AutoLR(opt, 120, "sgd")
    train(opt, auto, x, A, b, auto.total_steps)
    y = torch.nn.Parameter(torch.zeros(5, dtype=torch.float64))
    fresh = mechanic(y, s_init=auto.seed_scale)
    train(fresh, ScheduleLR(fresh, "warmup(linear,fraction=0.05)", 120), y, A, b, 120)
    torch.testing.assert_close(x, y, rtol=1e-12, atol=0)
    assert fresh.scale == pytest.approx(opt.scale, rel=1e-12) and fresh.restarts == opt.restarts


@pytest.mark.parametrize("at", [4, 30])  # a checkpoint during the pilot (12 steps) and during the run
def test_a_checkpoint_resumes_exactly(at):
    A, b = problem(2)

    def fresh():
        x = torch.nn.Parameter(torch.zeros(5, dtype=torch.float64))
        opt = mechanic(x)
        return x, opt, AutoLR(opt, 120, "sgd")

    x, opt, auto = fresh()
    train(opt, auto, x, A, b, auto.total_steps)
    x2, opt2, auto2 = fresh()
    train(opt2, auto2, x2, A, b, at)
    saved = copy.deepcopy({"x": x2.detach(), "opt": opt2.state_dict(), "auto": auto2.state_dict()})
    x3, opt3, auto3 = fresh()
    with torch.no_grad():
        x3.copy_(saved["x"])
    opt3.load_state_dict(saved["opt"])
    auto3.load_state_dict(saved["auto"])
    assert opt3.paused == (at < auto3.pilot_steps)
    train(opt3, auto3, x3, A, b, auto3.total_steps - at)
    torch.testing.assert_close(x3, x, rtol=0, atol=0)
    assert auto3.seed_scale == auto.seed_scale and opt3.scale == opt.scale


def test_bad_inputs():
    x = torch.nn.Parameter(torch.zeros(2))
    with pytest.raises(ValueError, match="method='linear' with Mechanic: the method 'mechanic' goes with a Mechanic"):
        AutoLR(mechanic(x), 100, "sgd", method="linear")
    with pytest.raises(ValueError, match="method='mechanic' with SGD"):
        AutoLR(torch.optim.SGD([x], lr=1.0), 100, "sgd", method="mechanic")
    for bad in (0.0, -1.0, math.nan, math.inf, "1"):
        with pytest.raises(ValueError, match="Mechanic.seed: scale must be a finite number > 0"):
            mechanic(x).seed(bad)
    assert optimizer_family(mechanic(x)) == "sgd"
    assert optimizer_family(Mechanic(torch.optim.AdamW, [x], lr=1.0)) == "adam"


def test_a_flat_pilot_still_seeds_mechanic_without_the_fallback():
    """A pilot that never becomes unstable: Mechanic learns the scale, so it is seeded from the min-loss lr as
    always (no warning, no family lr)."""
    x = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    opt = mechanic(x)
    auto = AutoLR(opt, 100, "sgd")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(auto.pilot_steps):
            loss = (x * 0).sum() + 1.0
            opt.zero_grad()
            loss.backward()
            opt.step()
            auto.step(loss)
    assert not auto.result.unstable
    assert auto.seed_scale == pytest.approx(0.1 * auto.result.min_loss_lr, rel=1e-12) and opt.scale == auto.seed_scale


def test_a_checkpoint_of_the_other_mode_is_refused():
    A, b = problem(3)
    x = torch.nn.Parameter(torch.zeros(5, dtype=torch.float64))
    opt = mechanic(x)
    auto = AutoLR(opt, 60, "sgd")
    train(opt, auto, x, A, b, auto.total_steps)
    plain = AutoLR(torch.optim.SGD([x], lr=1.0), 60, "sgd")
    with pytest.raises(ValueError, match="AutoLR state is for method 'mechanic'; this scheduler runs 'linear'"):
        plain.load_state_dict(auto.state_dict())
    with pytest.raises(ValueError, match="AutoLR state is for method 'linear'; this scheduler runs 'mechanic'"):
        AutoLR(mechanic(x), 60, "sgd").load_state_dict(plain.state_dict())
    with pytest.raises(ValueError, match=r"unknown pilot features \['foo'\]; the pilot measures \['cap', 'min_loss'\]"):
        AutoLR(torch.optim.SGD([x], lr=1.0), 60, "sgd", ratio={"foo": 1.0})


def test_seed_after_steps_restarts_learning_and_before_them_is_a_fresh_s_init():
    A, b = problem(4)
    x = torch.nn.Parameter(torch.zeros(5, dtype=torch.float64))
    opt = Mechanic(torch.optim.SGD([x], lr=0.01), freeze_after=3)
    sched = ScheduleLR(opt, "constant", 100)
    train(opt, sched, x, A, b, 5)  # frozen by now
    opt.seed(0.5)
    assert opt.scale == pytest.approx(0.5, rel=1e-15)
    train(opt, sched, x, A, b, 2)
    assert opt.scale != 0.5  # the seed starts a new count: it learns for freeze_after steps again
    # before the first step, a seed is s_init: a frozen float32 parameter first does not decide the tuner's dtype
    frozen = torch.nn.Parameter(torch.zeros(2, dtype=torch.float32), requires_grad=False)
    y, z = (torch.nn.Parameter(torch.zeros(5, dtype=torch.float64)) for _ in range(2))
    seeded = Mechanic(torch.optim.SGD([frozen, y], lr=0.01))
    seeded.seed(np.float32(0.25))
    assert seeded.scale == 0.25
    saved = copy.deepcopy(seeded.state_dict())  # the pending seed survives a checkpoint
    seeded = Mechanic(torch.optim.SGD([frozen, y], lr=0.01))
    seeded.load_state_dict(saved)
    fresh = Mechanic(torch.optim.SGD([z], lr=0.01), s_init=0.25)
    train(seeded, ScheduleLR(seeded, "constant", 100), y, A, b, 20)
    train(fresh, ScheduleLR(fresh, "constant", 100), z, A, b, 20)
    torch.testing.assert_close(y, z, rtol=0, atol=0)
    assert seeded.tuner["s"].dtype == torch.float64
    for bad in (True, torch.ones(2)):
        with pytest.raises(ValueError, match="Mechanic.seed: scale must be a finite number > 0"):
            seeded.seed(bad)


# --- one_run: the library's default for one run with no sweep ----------------------------------------------------
@pytest.mark.parametrize("steps", [11, 12, 33, 110, 111, 1000, 4321])
def test_split_is_within_s_partition_and_fills_the_steps(steps):
    """AutoLR.split(steps) is (pilot, run) of AutoLR.within: together exactly ``steps``; the pilot is the run's own
    (10% of it, at least 10) or one step more; no longer run fits."""
    from tuneless.auto.pilot import Pilot

    pilot, run = AutoLR.split(steps, "adam")
    x = torch.nn.Parameter(torch.zeros(2))
    auto = AutoLR.within(torch.optim.AdamW([x], lr=1.0), steps, "adam")
    assert (auto.pilot_steps, auto.run_steps) == (pilot, run) and pilot + run == steps
    assert Pilot.for_run(run, "adam", 0.1).steps in (pilot, pilot - 1)
    assert run + 1 + Pilot.for_run(run + 1, "adam", 0.1).steps > steps


def test_one_run_is_a_short_run_mechanic_under_autolr_within():
    """one_run(SGD, 300): the same run, step for step, as Mechanic(restart_factor=10, freeze_after=round(run / 4))
    under AutoLR.within(method="mechanic"), built by hand; the scale stops moving after the freeze."""
    from tuneless.torch.auto import one_run

    A, b = problem(3)
    x = torch.nn.Parameter(torch.zeros(5, dtype=torch.float64))
    opt, auto = one_run(torch.optim.SGD([x], lr=1.0, momentum=0.9), 300)
    assert isinstance(opt, Mechanic) and auto.mechanic is opt and auto.method == "mechanic" and auto.family == "sgd"
    assert auto.total_steps == 300 and (auto.pilot_steps, auto.run_steps) == (27, 273)
    assert (opt.restart_factor, opt.freeze_after) == (10.0, 68)  # round(273 / 4)
    y = torch.nn.Parameter(torch.zeros(5, dtype=torch.float64))
    by_hand = Mechanic(torch.optim.SGD([y], lr=1.0, momentum=0.9), restart_factor=10.0, freeze_after=68)
    hand_auto = AutoLR.within(by_hand, 300, "sgd")
    train(opt, auto, x, A, b, auto.pilot_steps + 68)
    train(by_hand, hand_auto, y, A, b, hand_auto.pilot_steps + 68)
    frozen = opt.scale
    train(opt, auto, x, A, b, auto.run_steps - 68)
    train(by_hand, hand_auto, y, A, b, hand_auto.run_steps - 68)
    torch.testing.assert_close(x, y, rtol=0, atol=0)
    assert opt.scale == by_hand.scale == frozen != auto.seed_scale


def test_one_run_stepping_the_given_optimizer_instead_of_the_returned_one_is_named_after_the_pilot():
    """The optimizer given to one_run is inside the Mechanic returned; stepped alone it would run at lr 1.0 with no
    learned scale. The pilot cannot tell (the Mechanic is paused then: its step is the base step); the 10th run step
    without a Mechanic step does, in one line. Fewer skipped steps (a GradScaler skips the steps whose gradients
    overflow, and the scheduler still steps) are no error."""
    from tuneless.torch.auto import one_run

    A, b = problem(3)
    x = torch.nn.Parameter(torch.zeros(5, dtype=torch.float64))
    given = torch.optim.SGD([x], lr=1.0)
    _, auto = one_run(given, 300)
    train(given, auto, x, A, b, auto.pilot_steps + 9)  # the pilot (the same steps either way), then 9 run steps
    with pytest.raises(RuntimeError, match="not stepped in the 10 steps after the pilot: step the Mechanic") as e:
        train(given, auto, x, A, b, 1)
    assert "\n" not in str(e.value)

    y = torch.nn.Parameter(torch.zeros(5, dtype=torch.float64))
    returned, auto = one_run(torch.optim.SGD([y], lr=1.0), 300)
    train(returned, auto, y, A, b, auto.pilot_steps)
    for _ in range(9):  # nine skipped steps, as a GradScaler skips them: the scheduler steps, the optimizer not
        auto.step(0.0)
    train(returned, auto, y, A, b, 20)
    assert returned.tuner is not None and torch.isfinite(y).all()

    # the Mechanic stepped with no gradient anywhere (it skips such a step) is still the Mechanic stepped
    z = torch.nn.Parameter(torch.zeros(5, dtype=torch.float64))
    returned, auto = one_run(torch.optim.SGD([z], lr=1.0), 300)
    train(returned, auto, z, A, b, auto.pilot_steps)
    for _ in range(12):
        returned.zero_grad()
        returned.step()
        auto.step()
    assert returned.tuner is None and returned.unpaused_calls == 12

    # a run shorter than the grace is not checked: the pilot's 10 steps and 5 run steps through the wrong optimizer
    w = torch.nn.Parameter(torch.zeros(5, dtype=torch.float64))
    given = torch.optim.SGD([w], lr=1.0)
    _, auto = one_run(given, 15)
    assert auto.run_steps < 10
    train(given, auto, w, A, b, auto.total_steps)


def test_one_run_linear_keeps_the_optimizer_and_a_given_mechanic_keeps_its_options():
    from tuneless.torch.auto import one_run

    x = torch.nn.Parameter(torch.zeros(2))
    plain = torch.optim.AdamW([x], lr=1.0)
    opt, auto = one_run(plain, 200, method="linear")
    assert opt is plain and auto.mechanic is None and auto.method == "linear" and auto.total_steps == 200
    given = Mechanic(torch.optim.SGD([x], lr=1.0))
    opt, auto = one_run(given, 200, "sgd")
    assert opt is given and auto.mechanic is given and given.freeze_after is None and given.restart_factor is None


def test_freeze_fraction_sets_the_mechanics_freeze_from_the_run_and_bad_values_are_refused():
    x = torch.nn.Parameter(torch.zeros(2))
    for fraction, run, expected in ((0.25, 200, 50), (0.25, 2, 1), (1.0, 37, 37), (0.1, 15, 2)):
        opt = Mechanic(torch.optim.SGD([x], lr=1.0))
        AutoLR(opt, run, "sgd", freeze_fraction=fraction)
        assert opt.freeze_after == expected
    with pytest.raises(ValueError, match="freeze_fraction=0.25 freezes a Mechanic's scale; this optimizer is no"):
        AutoLR(torch.optim.SGD([x], lr=1.0), 100, "sgd", freeze_fraction=0.25)
    for bad in (0, -0.1, 1.5, math.nan, True, "0.25"):
        with pytest.raises(ValueError, match="need a number in \\(0, 1\\]"):
            AutoLR(Mechanic(torch.optim.SGD([x], lr=1.0)), 100, "sgd", freeze_fraction=bad)


def test_one_run_bad_inputs_are_one_line_errors():
    from tuneless.auto import one_run  # (the torch function, from tuneless.auto)

    x = torch.nn.Parameter(torch.zeros(2))
    with pytest.raises(ValueError, match="method='fixed' is unknown; one run knows \\['mechanic', 'linear', 'sched"):
        one_run(torch.optim.SGD([x], lr=1.0), 100, method="fixed")
    with pytest.raises(ValueError, match="family='lion' is unknown"):
        one_run(torch.optim.SGD([x], lr=1.0), 100, "lion")
    with pytest.raises(ValueError, match="optimizer Adagrad: AutoLR cannot tell its family; pass family="):
        one_run(torch.optim.Adagrad([x]), 100)
    for steps in (0, -5):
        with pytest.raises(ValueError, match="total_steps"):
            one_run(torch.optim.SGD([x], lr=1.0), steps)
    with pytest.raises(ValueError, match="steps=10: AutoLR needs at least 11 optimizer steps"):
        one_run(torch.optim.SGD([x], lr=1.0), 10)


def test_one_run_and_schedule_free_optimizers():
    """A schedule-free optimizer keeps train/eval modes a Mechanic would hide: one_run refuses to wrap it and points
    to method="schedulefree", which runs it as it is, warmup then constant (the benchmark's auto-schedulefree);
    "schedulefree" with another optimizer is refused too."""
    schedulefree = pytest.importorskip("schedulefree")  # (installed with the bench extra: `make test` has it)
    from tuneless.torch.auto import one_run

    x = torch.nn.Parameter(torch.zeros(2))
    with pytest.raises(ValueError, match="AdamWScheduleFree keeps its own train/eval modes and cannot go inside"):
        one_run(schedulefree.AdamWScheduleFree([x], lr=1.0), 100)
    with pytest.raises(ValueError, match="method='schedulefree' needs a schedule-free optimizer .*got SGD"):
        one_run(torch.optim.SGD([x], lr=1.0), 100, method="schedulefree")
    free = schedulefree.SGDScheduleFree([x], lr=1.0)
    opt, auto = one_run(free, 100, method="schedulefree")
    assert opt is free and auto.family == "sgd" and auto.method == "schedulefree"
    assert [auto.schedule(t, 100) for t in (5, 50, 99)] == [1.0, 1.0, 1.0]  # constant after the 5% warmup


def test_freeze_fraction_takes_numpy_numbers():
    x = torch.nn.Parameter(torch.zeros(2))
    opt = Mechanic(torch.optim.SGD([x], lr=1.0))
    AutoLR(opt, 90, "sgd", freeze_fraction=np.float32(0.5))
    assert opt.freeze_after == 45 and isinstance(opt.freeze_after, int)
