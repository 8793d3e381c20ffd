"""ScheduleLR: per-group base lrs, exact resume, past-horizon behaviour, no spurious warnings."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is an optional extra: pip install tuneless[torch]")

from tuneless import schedules as S  # noqa: E402
from tuneless.torch import ScheduleLR  # noqa: E402

from ..schedules.strategies import BASE  # noqa: E402

EVERY_SCHEDULE = [
    "constant",
    "linear",
    "cosine(floor=0.1)",
    "polynomial(power=3)",
    "step",
    "exponential",
    "inverse_sqrt(timescale=5)",
    "rex(a=0.9)",
    "wsd(cooldown=0.3,shape=1-sqrt)",
    "cosine_power",
    "onecycle",
    "tabulated(values=[0.1,1.0,0.7,0.2,0.0])",
    "warmup(cosine,steps=4)",
    "join(pieces=[constant,linear],boundaries=[0.6])",
]


def test_the_resume_list_covers_every_registered_schedule():
    names = {S.parse_schedule(s).name for s in EVERY_SCHEDULE}
    assert names == set(BASE) | {"warmup", "join"}


def make(lrs=(0.1, 0.03)):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 1))
    opt = torch.optim.SGD(
        [{"params": model[0].parameters(), "lr": lrs[0]}, {"params": model[1].parameters(), "lr": lrs[1]}],
        momentum=0.9,
    )
    return model, opt


def train(model, opt, sched, steps, record):
    x = torch.linspace(-1, 1, 24).reshape(8, 3)
    for _ in range(steps):
        record.append([g["lr"] for g in opt.param_groups])
        opt.zero_grad()
        model(x).pow(2).mean().backward()
        opt.step()
        sched.step()


@pytest.mark.parametrize("spec", EVERY_SCHEDULE)
def test_each_group_gets_its_own_base_lr_times_the_schedule(spec):
    T = 20
    model, opt = make()
    sched = ScheduleLR(opt, spec, T)
    seen = []
    train(model, opt, sched, T, seen)
    m = S.parse_schedule(spec).values(T)
    np.testing.assert_allclose(np.array(seen), np.outer(m, [0.1, 0.03]), rtol=1e-15, atol=0)
    assert sched.get_last_lr() == pytest.approx(
        [0.1 * S.parse_schedule(spec)(T, T), 0.03 * S.parse_schedule(spec)(T, T)]
    )


@pytest.mark.parametrize("spec", EVERY_SCHEDULE)
def test_resume_gives_exactly_the_uninterrupted_lr_sequence(spec):
    T, K = 20, 7
    model, opt = make()
    sched = ScheduleLR(opt, spec, T)
    full = []
    train(model, opt, sched, T, full)

    model, opt = make()
    sched = ScheduleLR(opt, spec, T)
    first = []
    train(model, opt, sched, K, first)
    buf = io.BytesIO()
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict()}, buf)
    buf.seek(0)
    ckpt = torch.load(buf, weights_only=True)  # plain data only

    model2, opt2 = make(lrs=(5.0, 5.0))  # constructor lrs are replaced by the checkpoint's
    model2.load_state_dict(ckpt["model"])
    opt2.load_state_dict(ckpt["opt"])
    lrs_after_optimizer_load = [g["lr"] for g in opt2.param_groups]
    sched2 = ScheduleLR(opt2, spec, T)
    # a scheduler built after the optimizer state is loaded does not overwrite the restored lrs
    assert [g["lr"] for g in opt2.param_groups] == lrs_after_optimizer_load
    sched2.load_state_dict(ckpt["sched"])
    rest = []
    train(model2, opt2, sched2, T - K, rest)
    assert first + rest == full  # exact, not approximate


def test_stepping_past_the_horizon_holds_the_last_value_and_warns_once():
    model, opt = make()
    sched = ScheduleLR(opt, "cosine(floor=0.2)", 5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(12):
            opt.step()
            sched.step()
    past = [w for w in caught if "past total_steps" in str(w.message)]
    assert len(past) == 1
    assert sched.get_last_lr() == pytest.approx([0.1 * 0.2, 0.03 * 0.2])


def test_normal_use_raises_no_warning_at_all():
    model, opt = make()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched = ScheduleLR(opt, "warmup(linear,fraction=0.1)", 30)
        seen = []
        train(model, opt, sched, 30, seen)
        # AMP-style: the first optimizer step skipped (GradScaler found inf) must not trigger the order warning
        model, opt = make()
        sched = ScheduleLR(opt, "linear", 30)
        sched.step()
        opt.step()
        sched.step()


def test_trainer_integration_surface():
    """What Lightning and the HF Trainer rely on: an LRScheduler with .optimizer, get_last_lr(), state_dict()."""
    model, opt = make()
    sched = ScheduleLR(opt, S.linear(), 10)
    assert isinstance(sched, torch.optim.lr_scheduler.LRScheduler)
    assert sched.optimizer is opt
    assert sched.get_last_lr() == [0.1, 0.03]
    assert set(sched.state_dict()) >= {"last_epoch", "schedule", "total_steps"}


def test_tensor_learning_rates_are_filled_in_place():
    p = torch.nn.Parameter(torch.zeros(2))
    opt = torch.optim.Adam([p], lr=torch.tensor(0.01))
    lr_tensor = opt.param_groups[0]["lr"]
    sched = ScheduleLR(opt, "linear", 4)
    opt.step()
    sched.step()
    assert opt.param_groups[0]["lr"] is lr_tensor
    assert float(lr_tensor) == pytest.approx(0.0075)


def test_bad_arguments_fail_at_construction():
    model, opt = make()
    with pytest.raises(ValueError, match="total_steps=0 must be an integer > 0"):
        ScheduleLR(opt, "linear", 0)
    with pytest.raises(ValueError, match=r"warmup: steps=50 must be < total_steps=10"):
        ScheduleLR(opt, "warmup(linear,steps=50)", 10)
    with pytest.raises(ValueError, match="unknown schedule 'lineer'"):
        ScheduleLR(opt, "lineer", 10)
    sched = ScheduleLR(opt, "linear", 10)
    with pytest.raises(ValueError, match="takes no epoch"):
        sched.step(3)


def test_loading_a_checkpoint_with_another_schedule_warns_and_keeps_the_new_one():
    model, opt = make()
    sched = ScheduleLR(opt, "linear", 10)
    opt.step()
    sched.step()
    state = sched.state_dict()
    model2, opt2 = make()
    sched2 = ScheduleLR(opt2, "cosine", 20)
    with pytest.warns(UserWarning, match="keeping the new one"):
        sched2.load_state_dict(state)
    assert sched2.last_epoch == 1
    assert sched2.get_last_lr()[0] == pytest.approx(0.1 * S.cosine()(1, 20))
