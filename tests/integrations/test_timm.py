"""tuneless.integrations.timm: a timm Scheduler driving a tuneless schedule per update."""

from __future__ import annotations

import importlib.util
import inspect
import math
import warnings

import numpy as np
import pytest

import torch
from tuneless.schedules import as_schedule

timm_spec = importlib.util.find_spec("timm")
if timm_spec is None:  # installed by `make test` ([timm] extra): never skips there
    pytest.skip("timm is not installed", allow_module_level=True)

from tuneless.integrations.timm import TimmScheduleLR, timm_scheduler_base  # noqa: E402

PEAK = 0.1


def test_it_is_timms_scheduler():
    base = timm_scheduler_base()
    assert TimmScheduleLR.__mro__[1] is base and base.__name__ == "Scheduler"
    assert inspect.getfile(base).replace("\\", "/").endswith("timm/scheduler/scheduler.py")


def timm_loop(scheduler_of, epochs=3, batches=10, accumulation=3):
    """timm's train.py: step_update after each optimizer update, step(epoch + 1) after each epoch."""
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    optimizer = torch.optim.SGD([{"params": [model.weight]}, {"params": [model.bias], "lr": PEAK / 10}], lr=PEAK)
    updates_per_epoch = math.ceil(batches / accumulation)
    scheduler = scheduler_of(optimizer, epochs * updates_per_epoch)
    lrs, num_updates = [], 0
    for epoch in range(epochs):
        for index in range(batches):
            loss = model(torch.randn(8, 4)).pow(2).mean() / accumulation
            loss.backward()
            if (index + 1) % accumulation == 0 or index + 1 == batches:
                lrs.append([group["lr"] for group in optimizer.param_groups])
                optimizer.step()
                optimizer.zero_grad()
                num_updates += 1
                scheduler.step_update(num_updates=num_updates)
        scheduler.step(epoch + 1)
    return np.array(lrs), scheduler, optimizer


@pytest.mark.parametrize("spec", ["linear", "warmup(linear,fraction=0.1)", "wsd(cooldown=0.2)", "cosine"])
def test_lr_at_every_update_is_the_schedule_times_each_groups_peak(spec):
    schedule = as_schedule(spec)
    lrs, scheduler, _ = timm_loop(lambda optimizer, total: TimmScheduleLR(optimizer, spec, total))
    total = 3 * 4
    assert len(lrs) == total == scheduler.total_updates
    expected = np.array([schedule(t, total) for t in range(total)])
    np.testing.assert_allclose(lrs[:, 0], PEAK * expected, rtol=1e-12)
    np.testing.assert_allclose(lrs[:, 1], PEAK / 10 * expected, rtol=1e-12)


def test_resume_from_state_dict_continues_the_same_sequence(tmp_path):
    schedule = "warmup(linear,fraction=0.2)"
    model = torch.nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=PEAK)
    scheduler = TimmScheduleLR(optimizer, schedule, 20)
    for t in range(1, 8):
        scheduler.step_update(num_updates=t)
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, tmp_path / "ckpt.pt")
    state = torch.load(tmp_path / "ckpt.pt", weights_only=True)  # plain data only

    model = torch.nn.Linear(4, 1)
    restored_optimizer = torch.optim.SGD(model.parameters(), lr=PEAK)
    restored_optimizer.load_state_dict(state["optimizer"])
    restored = TimmScheduleLR(restored_optimizer, schedule, 20)
    restored.load_state_dict(state["scheduler"])
    for t in range(8, 21):
        scheduler.step_update(num_updates=t)
        restored.step_update(num_updates=t)
        assert restored_optimizer.param_groups[0]["lr"] == optimizer.param_groups[0]["lr"]
    assert restored.schedule == scheduler.schedule and optimizer.param_groups[0]["lr"] == 0.0


def test_bad_horizon_is_refused():
    optimizer = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=PEAK)
    with pytest.raises(ValueError, match="total_steps"):
        TimmScheduleLR(optimizer, "linear", 0)


def test_updating_past_the_horizon_warns_once_like_schedule_lr():
    """issue 27: TimmScheduleLR held lr 0 past the end without the warning ScheduleLR gives."""
    optimizer = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=PEAK)
    scheduler = TimmScheduleLR(optimizer, "linear", total_updates=4)
    scheduler.step_update(num_updates=4)
    with pytest.warns(UserWarning, match=r"past total_updates=4 \(num_updates=5\): holding the final multiplier 0"):
        scheduler.step_update(num_updates=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scheduler.step_update(num_updates=6)
    assert optimizer.param_groups[0]["lr"] == 0.0
