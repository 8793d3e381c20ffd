"""The benchmark on a CUDA GPU: workloads' training steps never wait for the device, trials run (bf16 +
torch.compile) and the run records the GPU. Skipped, with the reason, on a machine without CUDA."""

from __future__ import annotations

import pytest

import torch
from tuneless.bench.benchmark import run_benchmark
from tuneless.bench.catalog.methods import TrialConfig
from tuneless.bench.catalog.workloads import resolve_workload
from tuneless.bench.record.store import Store
from tuneless.bench.run.config import BenchConfig
from tuneless.bench.run.runner import TrialTask, run_trial
from tuneless.torch import ScheduleLR

from .conftest import EXAMPLE_REF
from .test_gpu_suite import TINY_CNN, TINY_LM

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (torch.cuda.is_available() is False)"),
]


@pytest.mark.parametrize(("ref", "overrides"), [("lm-stdlib", TINY_LM), ("fashion-cnn", TINY_CNN), ("logreg-iris", {})])
def test_a_workload_training_step_does_not_synchronise(ref, overrides):
    workload = resolve_workload(ref, {**overrides, **({"compile": False} if "compile" in overrides else {})})
    if workload.unavailable_reason():
        pytest.skip(workload.unavailable_reason())
    workload.prepare([0])
    model, data = workload.build(0, torch.device("cuda:0"))
    assert all(p.device.type == "cuda" for p in model.parameters())
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    scheduler = ScheduleLR(optimizer, "cosine", 100)

    def step(i):
        loss = workload.train_loss(model, data, i)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()

    step(0)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for i in range(1, 11):
            step(i)
    finally:
        torch.cuda.set_sync_debug_mode("default")


@pytest.mark.parametrize("compile_model", [False, True])
def test_a_byte_lm_trial_on_cuda_with_bf16(compile_model):
    overrides = {**TINY_LM, "budget_steps": 40, "eval_every": 20, "compile": compile_model}
    task = TrialTask(
        "r", "t", "lm-stdlib", overrides, "linear", TrialConfig(3e-3, "adamw", "linear"), 0, device="cuda:0"
    )
    rows = run_trial(task)
    finish = rows[-1]
    assert finish.status == "done", finish.error
    metrics = [row.metric for row in rows[1:-1]]
    assert len(metrics) == 3 and metrics[-1] < metrics[0]  # bits per byte fall from the untrained model's


def test_a_run_on_cuda_records_the_gpu(tmp_path):
    config = BenchConfig("quick", [EXAMPLE_REF], ["constant", "refined"], 2, {EXAMPLE_REF: {}})
    run_id = run_benchmark(tmp_path / "s.sqlite", config, progress=False, device="cuda", trials_per_device=2)
    with Store(tmp_path / "s.sqlite") as store:
        trials = store.trials(run_id)
        environment = store.run(run_id).config.environment
    assert trials and all(t.status == "done" for t in trials), [t.error for t in trials]
    assert environment["device"] == "cuda" and environment["cuda"] == torch.version.cuda
    assert environment["device_name"] == torch.cuda.get_device_name(0)
