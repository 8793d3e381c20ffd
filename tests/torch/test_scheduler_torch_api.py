"""ScheduleLR against the installed torch: the version is one pyproject supports, and ScheduleLR's lrs equal those of
torch's own LambdaLR with the same multiplier (each group's own base lr; an uninterrupted run and one resumed from
state dicts), so ScheduleLR behaves as a torch scheduler of that version does."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest
import tomllib
from packaging.specifiers import SpecifierSet
from packaging.version import Version

torch = pytest.importorskip("torch", reason="torch is an optional extra: pip install tuneless[torch]")

from torch.optim.lr_scheduler import LambdaLR  # noqa: E402

from tuneless import schedules as S  # noqa: E402
from tuneless.torch import ScheduleLR  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
T = 40
SPECS = ["warmup(cosine(floor=0.1),fraction=0.1)", "wsd(cooldown=0.3,shape=1-sqrt)", "onecycle", "linear"]


def supported_torch() -> SpecifierSet:
    """The torch versions the ``torch`` extra of pyproject.toml accepts."""
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["torch"]
    (requirement,) = [r for r in extra if re.match(r"torch\b", r)]
    return SpecifierSet(requirement[len("torch") :])


def test_the_installed_torch_is_one_pyproject_supports():
    installed = Version(torch.__version__.split("+")[0])
    assert installed in supported_torch(), (installed, supported_torch())


def model_and_optimizer(lrs=(0.1, 0.03)):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 1))
    groups = [{"params": model[0].parameters(), "lr": lrs[0]}, {"params": model[1].parameters(), "lr": lrs[1]}]
    return model, torch.optim.SGD(groups, momentum=0.9)


def run(make_scheduler, steps, stop=None, scheduler_first=True):
    """The lrs of every step and after the last, and ``get_last_lr()``. ``stop``: save the state dicts there, build
    fresh objects and load them: the scheduler built before the optimizer state is loaded (torch's docs), or after
    (``scheduler_first=False``, ScheduleLR's docs)."""
    model, optimizer = model_and_optimizer()
    scheduler = make_scheduler(optimizer)
    x = torch.linspace(-1, 1, 24).reshape(8, 3)
    lrs = []
    for step in range(steps):
        if step == stop:
            saved_model, saved_opt, saved_sched = model.state_dict(), optimizer.state_dict(), scheduler.state_dict()
            model, optimizer = model_and_optimizer(lrs=(7.0, 7.0))  # wrong lrs: the checkpoint must restore them
            model.load_state_dict(saved_model)
            if scheduler_first:
                scheduler = make_scheduler(optimizer)
            optimizer.load_state_dict(saved_opt)
            if not scheduler_first:
                scheduler = make_scheduler(optimizer)
            scheduler.load_state_dict(saved_sched)
        lrs.append([g["lr"] for g in optimizer.param_groups])
        optimizer.zero_grad()
        model(x).pow(2).mean().backward()
        optimizer.step()
        scheduler.step()
    lrs.append([g["lr"] for g in optimizer.param_groups])
    return lrs, scheduler.get_last_lr()


@pytest.mark.parametrize("stop", [None, 1, 17], ids=["uninterrupted", "resumed-at-1", "resumed-at-17"])
@pytest.mark.parametrize("spec", SPECS)
def test_lrs_equal_lambda_lr_with_the_same_multiplier(spec, stop):
    schedule = S.parse_schedule(spec)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # neither warns within the horizon
        ours, our_last = run(lambda opt: ScheduleLR(opt, spec, T), T, stop)
        torchs, torch_last = run(lambda opt: LambdaLR(opt, lambda t: schedule(min(t, T), T)), T, stop)
    assert ours == torchs  # exactly: base lr times the same float multiplier
    assert our_last == torch_last == ours[-1]
    if stop is not None:  # ScheduleLR also resumes when built on the restored optimizer
        assert run(lambda opt: ScheduleLR(opt, spec, T), T, stop, scheduler_first=False) == (ours, our_last)
    assert ours[0] == [0.1 * schedule(0, T), 0.03 * schedule(0, T)]
    assert ours[-1] == [0.1 * schedule(T, T), 0.03 * schedule(T, T)]


def test_past_the_horizon_lambda_lr_holds_too_and_schedule_lr_warns_once():
    schedule = S.parse_schedule("linear(floor=0.2)")
    with pytest.warns(UserWarning, match="stepped past total_steps=40") as caught:
        ours, _ = run(lambda opt: ScheduleLR(opt, schedule, T), T + 5)
    assert len([w for w in caught if "stepped past" in str(w.message)]) == 1
    torchs, _ = run(lambda opt: LambdaLR(opt, lambda t: schedule(min(t, T), T)), T + 5)
    assert ours == torchs and ours[-1] == ours[T] == [0.1 * 0.2, 0.03 * 0.2]


def test_total_steps_and_the_horizon_are_checked_once_at_construction_not_every_step(monkeypatch):
    from tuneless.schedules import _base

    _, optimizer = model_and_optimizer()
    with pytest.raises(ValueError, match="warmup: steps=40 must be < total_steps=40"):
        ScheduleLR(optimizer, "warmup(linear,steps=40)", T)
    scheduler = ScheduleLR(optimizer, "warmup(linear,steps=4)", T)
    checked = []
    monkeypatch.setattr(_base, "check_total_steps", lambda *a: checked.append(a))
    monkeypatch.setattr(S.Warmup, "_check_horizon", lambda *a: checked.append(a))
    for _ in range(T + 3):
        optimizer.step()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # past the horizon
            scheduler.step()
    assert checked == []


@pytest.mark.parametrize("warmup", [0.0, 0.05, 0.3])
def test_online_refined_lr_starts_with_the_schedule_its_spec_gave(warmup):
    from tuneless.torch import OnlineRefinedLR

    _, optimizer = model_and_optimizer()
    scheduler = OnlineRefinedLR(optimizer, T, "adam", warmup=warmup)
    spec = f"warmup(linear,fraction={warmup!r})" if warmup > 0 else "linear"
    expected = S.parse_schedule(spec).values(T, endpoint=True)
    expected[-1] = 0.0
    assert scheduler.multipliers.tolist() == expected.tolist()
    scheduler.close()
