"""Device plumbing of the benchmark, checked on the CPU: --device parsing, GPU slots of the local executor,
synchronisation only at evaluations, out-of-memory trials, the environment a run records."""

from __future__ import annotations

import json
import time

import pytest

import torch
from tuneless.bench.benchmark import run_benchmark
from tuneless.bench.catalog.methods import TrialConfig
from tuneless.bench.record.rows import Measurement, TrialFinish
from tuneless.bench.record.store import Store
from tuneless.bench.run import local_executor, runner
from tuneless.bench.run.config import BenchConfig
from tuneless.bench.run.device import device_slots, environment, resolve_device
from tuneless.bench.run.local_executor import LocalExecutor
from tuneless.bench.run.runner import TrialTask, build_on, run_trial
from tuneless.cli import main

TINY = f"{__file__.rsplit('/', 1)[0]}/tiny_workloads.py"


def _gpus(monkeypatch, count: int) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: count > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count)


def test_resolve_device_on_a_machine_without_gpu(monkeypatch):
    _gpus(monkeypatch, 0)
    assert resolve_device("auto") == "cpu" and resolve_device("cpu") == "cpu" and resolve_device(" CPU ") == "cpu"
    for bad in ("cuda", "cuda:0"):
        with pytest.raises(ValueError, match=rf"^device='{bad}': CUDA is not available here \(") as err:
            resolve_device(bad)
        assert "\n" not in str(err.value)
    for bad in ("gpu", "cuda:", "cuda:x", "cuda0", "", "mps"):
        with pytest.raises(ValueError, match=r"expected auto, cpu, cuda or cuda:N"):
            resolve_device(bad)


def test_resolve_device_with_two_gpus(monkeypatch):
    _gpus(monkeypatch, 2)
    assert resolve_device("auto") == "cuda" and resolve_device("cuda") == "cuda"
    assert resolve_device("cuda:1") == "cuda:1" and resolve_device("cpu") == "cpu"
    with pytest.raises(ValueError, match=r"device='cuda:2': there are 2 GPU\(s\), indices 0 to 1"):
        resolve_device("cuda:2")


def test_device_slots():
    assert device_slots("cpu", 4) is None
    assert device_slots("cuda", 1, gpu_count=3) == ["cuda:0", "cuda:1", "cuda:2"]
    assert sorted(device_slots("cuda", 2, gpu_count=2)) == ["cuda:0", "cuda:0", "cuda:1", "cuda:1"]
    assert device_slots("cuda:1", 3) == ["cuda:1"] * 3
    for bad in (0, -1, 1.5):
        with pytest.raises(ValueError, match=r"trials_per_device="):
            device_slots("cuda", bad, gpu_count=1)


def _fake_trial(task: TrialTask, parent_pid: int) -> None:
    """Stands in for a trial process: notes its device and when it ran."""
    start = time.time()
    time.sleep(0.3)
    with open(task.store_path, "a") as log:
        log.write(json.dumps([task.trial_id, task.device, start, time.time()]) + "\n")


def test_local_executor_gives_each_trial_a_gpu_slot(tmp_path, monkeypatch):
    """2 GPUs x 2 trials per device: at most 4 trials at once, at most 2 on a GPU, every trial on a GPU."""
    _gpus(monkeypatch, 2)
    monkeypatch.setattr(local_executor, "_trial_process", _fake_trial)
    log = tmp_path / "log.jsonl"
    config = TrialConfig(0.1, "sgd", "constant")
    tasks = [TrialTask("r", f"t{i}", "x", {}, "constant", config, 0, str(log), device="cuda") for i in range(10)]
    executor = LocalExecutor(device="cuda", trials_per_device=2)
    assert executor.workers == 4 and executor.threads_per_trial() == 1
    assert LocalExecutor(workers=3, device="cuda", trials_per_device=2).workers == 3
    done = []
    executor.run(tasks, store=None, on_done=lambda task: done.append(task.trial_id))
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert sorted(done) == sorted(t.trial_id for t in tasks) and len(rows) == 10
    assert {device for _, device, _, _ in rows} == {"cuda:0", "cuda:1"}
    for _, _, start, end in rows:  # trials running at the middle of this one
        middle = (start + end) / 2
        running = [device for _, device, s, e in rows if s <= middle <= e]
        assert len(running) <= 4
        assert all(running.count(gpu) <= 2 for gpu in ("cuda:0", "cuda:1"))


def _task(workload: str, seed: int = 0, device: str = "cpu") -> TrialTask:
    return TrialTask(
        "r", f"t-{workload}-{seed}", workload, {}, "constant", TrialConfig(0.01, "sgd", "constant"), seed, device=device
    )


def test_the_device_is_synchronised_only_at_evaluations(monkeypatch):
    """ShortDiabetes: 60 steps, evaluations every 10; once before training, then twice per evaluation (before the
    clock is read, and after the untimed evaluation), never per step."""
    calls = []
    monkeypatch.setattr(runner, "synchronize", lambda device: calls.append(str(device)))
    rows = run_trial(_task(f"{TINY}:ShortDiabetes"))
    assert isinstance(rows[-1], TrialFinish) and rows[-1].status == "done"
    evaluations = [row.step for row in rows if isinstance(row, Measurement)]
    assert evaluations == [0, 10, 20, 30, 40, 50, 60]
    assert calls == ["cpu"] * (1 + 2 * 6)


def test_a_nan_loss_between_evaluations_names_its_first_step():
    rows = run_trial(_task(f"{TINY}:NaNFromStep13Diabetes"))
    finish = rows[-1]
    assert finish.status == "failed" and finish.error == "diverged: loss=nan at step 13"
    assert [row.step for row in rows if isinstance(row, Measurement)] == [0, 10]


def test_out_of_memory_fails_that_trial_and_the_suite_goes_on(tmp_path):
    store_path = tmp_path / "s.sqlite"
    ref = f"{TINY}:OutOfMemoryDiabetes"
    config = BenchConfig("quick", [ref], ["constant", "linear"], 2, {ref: {}})
    run_id = run_benchmark(store_path, config, workers=2, progress=False)
    with Store(store_path) as store:
        trials = store.trials(run_id)
        environment_row = store.run(run_id).config.environment
    assert len(trials) == 2 * 2 * 2
    for trial in trials:
        if trial.seed == 1:
            assert trial.status == "failed" and trial.final_metric is None
            assert trial.error.startswith("out of memory on cpu (OutOfMemoryError: CUDA out of memory. Tried")
            assert "--trials-per-device" in trial.error
        else:
            assert trial.status == "done" and trial.final_metric is not None
    assert environment_row == environment("cpu")
    assert environment_row["torch"] == torch.__version__ and environment_row["cuda"] == torch.version.cuda
    assert environment_row["device"] == "cpu" and environment_row["device_name"]


def test_a_workload_without_a_device_argument_runs_on_the_cpu_only():
    from tuneless.bench.catalog.workloads import resolve_workload

    workload = resolve_workload(f"{TINY}:SeedOnlyDiabetes")
    model, data = build_on(workload, 0, torch.device("cpu"))
    assert next(model.parameters()).device.type == "cpu"
    with pytest.raises(ValueError, match=r"build\(seed\) takes no device, so it cannot run on cuda:0; write build"):
        build_on(workload, 0, torch.device("cuda:0"))
    rows = run_trial(_task(f"{TINY}:SeedOnlyDiabetes"))
    assert rows[-1].status == "done"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--device", "cuda"], "tuneless bench: error: --device 'cuda': CUDA is not available here ("),
        (["--device", "tpu"], "tuneless bench: error: --device 'tpu': expected auto, cpu, cuda or cuda:N"),
        (["--trials-per-device", "0"], "tuneless bench: error: --trials-per-device 0: must be a positive integer"),
    ],
)
def test_cli_device_errors_are_one_line(tmp_path, capsys, monkeypatch, options, message):
    _gpus(monkeypatch, 0)
    argv = ["bench", "--workload", f"{TINY}:ShortDiabetes", "--methods", "constant", "--seeds", "1"]
    code = main([*argv, "--store", str(tmp_path / "s.sqlite"), "--out", str(tmp_path / "out"), *options])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith(message) and err.count("\n") == 1, err
