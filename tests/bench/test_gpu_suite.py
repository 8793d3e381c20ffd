"""The gpu suite, run on the CPU at smoke size (tiny models, a few steps): every workload and method of the suite
runs, the targets are unset and reported as such, and the run records where it ran."""

from __future__ import annotations

import pytest

import torch
from tuneless.bench.benchmark import run_benchmark, write_outputs
from tuneless.bench.catalog.methods import METHODS
from tuneless.bench.catalog.suites import GPU_METHODS, get_suite
from tuneless.bench.catalog.suites import GPU_SMOKE_CNN as TINY_CNN
from tuneless.bench.catalog.suites import GPU_SMOKE_LM as TINY_LM
from tuneless.bench.catalog.workloads import resolve_workload
from tuneless.bench.record.store import Store
from tuneless.bench.run.config import BenchConfig


def test_gpu_suite_definition():
    suite = get_suite("gpu")
    assert suite.seeds >= 2 and not suite.targets_required
    claims = {"constant", "cosine", "linear", "wsd", "refined", "schedulefree", "mechanic-linear"}
    assert claims <= set(suite.methods) and set(suite.methods) <= set(METHODS)
    assert suite.methods == GPU_METHODS
    for ref in ("lm-stdlib", "lm-kjv"):
        lm = resolve_workload(ref, suite.workloads[ref])
        assert lm.context >= 256 and lm.budget_steps >= 2000 and lm.metric == "val_bits_per_byte"
        model, _ = lm.with_overrides(compile=False).build(0, "cpu")
        assert 10e6 <= sum(p.numel() for p in model.parameters()) <= 50e6
    full_cnn = resolve_workload("fashion-cnn", get_suite("full").workloads["fashion-cnn"])
    assert resolve_workload("fashion-cnn", suite.workloads["fashion-cnn"]).budget_steps == 10 * full_cnn.budget_steps


def test_acceleration_defaults_follow_the_device():
    from tuneless.bench.catalog.workloads.acceleration import uses

    assert uses(None, "cuda:0") and not uses(None, "cpu") and uses(True, "cpu") and not uses(False, "cuda")
    with pytest.raises(ValueError, match=r"bf16/compile option 'yes'"):
        uses("yes", "cpu")
    lm = resolve_workload("lm-stdlib", {**TINY_LM, "bf16": True})  # bf16 autocast works on the CPU too
    model, data = lm.build(0, "cpu")
    loss = lm.train_loss(model, data, 0)
    assert loss.dtype == torch.float32 and torch.isfinite(loss)


def test_gpu_suite_smoke_run_on_the_cpu(tmp_path):
    config = BenchConfig.from_options("gpu", seeds=1)
    for ref in config.workloads:
        config.overrides[ref].update(TINY_CNN if ref == "fashion-cnn" else TINY_LM)
    messages = []
    store_path = tmp_path / "s.sqlite"
    run_id = run_benchmark(store_path, config, workers=2, progress=False, say=messages.append)
    expected = {"lm-stdlib", "lm-kjv", "fashion-cnn"}
    available = {ref for ref in config.workloads if resolve_workload(ref).unavailable_reason() is None}
    with Store(store_path) as store:
        trials = store.trials(run_id)
        run = store.run(run_id)
    assert {t.workload for t in trials} == available and available <= expected
    assert {t.method for t in trials} == set(GPU_METHODS)
    assert [t for t in trials if t.status != "done"] == []
    assert all(t.target is None and t.steps_to_target is None for t in trials)
    per_workload = sum(len(METHODS[m].trials(resolve_workload("lm-stdlib", TINY_LM))) for m in GPU_METHODS)
    assert len(trials) == per_workload * len(available)
    for name in available:
        assert any(m.startswith(f"workload {name}: target unset (suite gpu has none yet)") for m in messages)
    assert run.config.environment["device"] == "cpu"
    write_outputs(store_path, run_id, tmp_path / "out", messages.append)
    html = (tmp_path / "out" / "report.html").read_text()
    assert "no target set" in html
