"""The method registry: the issue's methods, the same peak-lr grid for each, priors, optimizer specs."""

from __future__ import annotations

import pytest

import torch
from tuneless.bench.catalog.methods import METHODS, resolve_methods
from tuneless.bench.catalog.optimizers import make_optimizer, parse_optimizer_spec
from tuneless.bench.catalog.workloads import resolve_workload
from tuneless.schedules import parse_schedule


def test_the_issue_methods_are_registered():
    assert {"constant", "cosine", "linear", "wsd", "rex", "refined", "schedulefree"} <= set(METHODS)
    assert METHODS["refined"].prior == "linear" and METHODS["linear"].records_grad_norms


def test_every_grid_method_uses_the_workloads_grid():
    workload = resolve_workload("lm-stdlib", {"peak_lrs": (1e-3, 1e-2)})
    grid_methods = [m for m in METHODS.values() if m.configs is None]
    assert {m.name for m in grid_methods} >= {"constant", "cosine", "linear", "wsd", "rex", "refined", "schedulefree"}
    for method in grid_methods:
        configs = method.trials(workload)
        assert [c.peak_lr for c in configs] == [1e-3, 1e-2]


def test_schedules_have_the_documented_shapes():
    """After the 50-step warmup the decay runs on its own 950-step clock. WSD: 1 until 50 + 0.8 * 950 = 810, then
    1 - sqrt(q) over the 190-step cooldown; linear: 0.5 halfway (step 525); every decay reaches 0 at T."""
    total = 1000
    wsd = parse_schedule(METHODS["wsd"].schedule)
    assert wsd(400, total) == 1.0 and wsd(810, total) == pytest.approx(1.0)
    assert wsd(905, total) == pytest.approx(1 - 0.5**0.5)
    for name in ("linear", "cosine", "wsd", "rex"):
        schedule = parse_schedule(METHODS[name].schedule)
        assert schedule(total, total) == pytest.approx(0.0, abs=1e-12)
        assert schedule(0, total) == 0.0 and schedule(50, total) == pytest.approx(1.0)  # 5% warmup
    assert parse_schedule(METHODS["linear"].schedule)(525, total) == pytest.approx(0.5)


def test_resolve_adds_priors_and_rejects_unknown():
    assert [m.name for m in resolve_methods(["refined"])] == ["linear", "refined"]
    with pytest.raises(ValueError, match=r"unknown method\(s\) \['nadam'\]"):
        resolve_methods(["cosine", "nadam"])


def test_optimizer_specs():
    assert parse_optimizer_spec("sgd(momentum=0.9, nesterov=True)") == ("sgd", {"momentum": 0.9, "nesterov": True})
    parameters = [torch.nn.Parameter(torch.zeros(2))]
    sgd = make_optimizer("sgd(momentum=0.9)", parameters, 0.5, total_steps=100)
    assert isinstance(sgd, torch.optim.SGD) and sgd.param_groups[0]["momentum"] == 0.9
    free = make_optimizer("schedulefree_adamw(warmup_fraction=0.05)", parameters, 0.01, total_steps=200)
    assert free.param_groups[0]["warmup_steps"] == 10
    with pytest.raises(ValueError, match="optimizer 'lion' .* is unknown"):
        make_optimizer("lion", parameters, 0.1, total_steps=10)
    with pytest.raises(ValueError, match="argument 'momentum' is not key=value"):
        parse_optimizer_spec("sgd(momentum)")


def test_schedulefree_picks_the_variant_of_the_workloads_optimizer_family():
    method = METHODS["schedulefree"]
    assert method.optimizer_for(resolve_workload("logreg-iris")).startswith("schedulefree_sgd")
    assert method.optimizer_for(resolve_workload("lm-stdlib")).startswith("schedulefree_adamw")
