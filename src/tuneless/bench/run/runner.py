"""Running trials: one trial = one (workload, method, trial config, seed), trained in its own process.

``run_trial(task) -> rows`` is the unit of work: a top-level function of a picklable ``TrialTask`` that trains,
evaluates every ``eval_every`` steps (untimed) and returns its rows (``rows.TrialStart``, ``Measurement``...,
``TrialFinish``). With ``task.store_path`` set it also writes each row to the SQLite store the moment it exists (the
local executor); without it the caller replays the returned rows into the store with ``Store.write_rows`` (a remote
executor, e.g. Ray, whose workers cannot reach the driver's file). An executor is anything with the methods of
:class:`Executor`.

Time to target (AlgoPerf, Dahl et al. 2023, arXiv 2306.07179, section 4.3): the accumulated training time
(forward, backward, optimizer and schedule steps; evaluation excluded) at the first evaluation whose metric meets
the target; steps to target likewise in optimizer steps. A trial whose loss or metric becomes NaN/inf, or that
raises (a CUDA out-of-memory error included), is a failure (its times are infinite: NULL in the store) and the
suite goes on.

Devices: a trial runs on ``task.device`` (``"cpu"`` or ``"cuda:N"``); the workload's ``build`` puts the model and
the data there. Nothing in the training loop waits for the device: the step losses stay on it and are checked
(finite) and moved to the host once per evaluation, and the clock is read after ``torch.cuda.synchronize`` at each
evaluation only (``device.synchronize``), so the training time of a segment between evaluations is exact without
slowing the steps. CPU seconds to target likewise, in the trial process's own CPU time
(``time.process_time``) over the same training segments, which a competing load on the machine inflates far less
than wall-clock seconds (``benchmarks/time_score_load.py``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import math
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from ..catalog.methods import METHODS, TrialConfig
from ..catalog.optimizers import make_optimizer
from ..catalog.workload import Workload
from ..catalog.workloads import resolve_workload
from ..record.rows import Measurement, StoreRow, TrialFinish, TrialStart
from ..record.store import Store
from .device import synchronize

__all__ = ["Executor", "TrialTask", "record_failure", "run_trial", "start_row", "trial_id"]


@dataclasses.dataclass(frozen=True)
class TrialTask:
    """Everything a worker needs to run one trial (plain data: picklable, no open handles)."""

    run_id: str
    trial_id: str
    workload_ref: str
    workload_overrides: Mapping[str, Any]
    method: str
    config: TrialConfig
    seed: int
    store_path: str | None = None  # None: only return the rows
    trace_path: str | None = None  # record the gradient-norm trace here
    threads: int | None = None  # torch intra-op threads (1 when several trials share the machine)
    prior_trial_id: str | None = None
    prior_seconds: float = 0.0
    prior_steps: int = 0
    device: str = "cpu"  # "cpu" or "cuda:N" (the local executor turns "cuda" into one GPU's slot)


class Executor(Protocol):
    """What runs a run's trials (``LocalExecutor``, ``ray_executor.RayExecutor``)."""

    def threads_per_trial(self) -> int | None:
        """Torch threads each trial should use (``None``: torch's default)."""

    def run(self, tasks: Sequence[TrialTask], store: Store, on_done: Callable[[TrialTask], None]) -> None:
        """Run every task (``run_trial``), get its rows into ``store`` (a lost trial: ``record_failure``) and call
        ``on_done`` after each."""


def trial_id(run_id: str, workload: str, method: str, peak_lr: float | None, seed: int, label: str = "") -> str:
    """Deterministic id: sha256 of (run, workload, method, peak lr, seed, config label), 20 hex characters."""
    key = f"{run_id}|{workload}|{method}|{peak_lr!r}|{seed}|{label}"
    return hashlib.sha256(key.encode()).hexdigest()[:20]


class _Diverged(Exception):
    pass


def _met(value: float, target: float | None, higher_is_better: bool) -> bool:
    if target is None or not math.isfinite(target):
        return False
    return value >= target if higher_is_better else value <= target


def start_row(task: TrialTask, workload: Workload) -> TrialStart:
    """The ``trials`` row of a trial as it starts (also used to record a trial that failed before it could)."""
    return TrialStart(
        trial_id=task.trial_id,
        run_id=task.run_id,
        workload=workload.name,
        method=task.method,
        peak_lr=task.config.peak_lr,
        seed=task.seed,
        schedule=task.config.schedule,
        optimizer=task.config.optimizer,
        metric_name=workload.metric,
        higher_is_better=workload.higher_is_better,
        target=workload.target,
        budget_steps=workload.budget_steps,
        prior_trial_id=task.prior_trial_id,
        prior_seconds=task.prior_seconds,
        prior_steps=task.prior_steps,
    )


@dataclasses.dataclass
class _Progress:
    """What a trial has measured so far."""

    train_seconds: float = 0.0
    cpu_seconds: float = 0.0  # the process's CPU time over the same training steps
    cpu_seconds_to_target: float | None = None
    losses: list[float] = dataclasses.field(default_factory=list)  # training losses since the last evaluation
    steps_to_target: int | None = None
    seconds_to_target: float | None = None
    final_metric: float | None = None


def run_trial(task: TrialTask) -> list[StoreRow]:
    """Train one trial; returns its rows (``TrialStart``, ``Measurement``..., ``TrialFinish``) and streams them to
    the store when ``task.store_path`` is set. Never raises for a failing trial: the failure is its finish row."""
    rows: list[StoreRow] = []
    store = Store(task.store_path) if task.store_path else None

    def emit(row: StoreRow) -> None:
        rows.append(row)
        if store is not None:
            store.write_rows([row])

    workload = resolve_workload(task.workload_ref, task.workload_overrides)
    emit(start_row(task, workload))
    progress = _Progress()
    try:
        _train(task, workload, progress, emit)
        finish = TrialFinish(
            task.trial_id,
            "done",
            train_seconds=progress.train_seconds,
            steps_to_target=progress.steps_to_target,
            seconds_to_target=progress.seconds_to_target,
            final_metric=progress.final_metric,
            train_cpu_seconds=progress.cpu_seconds,
            cpu_seconds_to_target=progress.cpu_seconds_to_target,
        )
    except _Diverged as err:
        finish = TrialFinish(task.trial_id, "failed", str(err), progress.train_seconds)
    except _out_of_memory_error() as err:  # this trial is too big for its share of the GPU; the suite goes on
        error = (
            f"out of memory on {task.device} ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}); "
            "lower --trials-per-device or the workload's batch size"
        )
        finish = TrialFinish(task.trial_id, "failed", error, progress.train_seconds)
        _release_device_memory()
    except Exception as err:  # a crashing trial is a failed trial; the suite goes on
        error = f"{type(err).__name__}: {err}\n{traceback.format_exc(limit=4)}"
        finish = TrialFinish(task.trial_id, "failed", error, progress.train_seconds)
    emit(finish)
    if store is not None:
        store.close()
    return rows


def _scheduler(task: TrialTask, workload: Workload, optimizer: Any) -> Any:
    """The method's own scheduler (online refinement, AutoLR), else ``ScheduleLR`` over the trial's schedule."""
    from ...torch import ScheduleLR

    method = METHODS.get(task.method)
    if method is not None and method.scheduler is not None:
        return method.scheduler(optimizer, workload, workload.budget_steps)
    return ScheduleLR(optimizer, task.config.schedule, workload.budget_steps)


def _train(task: TrialTask, workload: Workload, progress: _Progress, emit: Callable[[StoreRow], None]) -> None:
    """Build the trial's model, optimizer and schedule and train for the budget, evaluating as it goes."""
    import torch

    if task.threads:
        torch.set_num_threads(task.threads)
    device = torch.device(task.device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    torch.manual_seed(task.seed)
    model, data = build_on(workload, task.seed, device)
    budget = workload.budget_steps
    optimizer = make_optimizer(task.config.optimizer, model.parameters(), task.config.peak_lr, budget)
    scheduler = _scheduler(task, workload, optimizer)
    recording = _RecordingClock(optimizer, task.trace_path, budget) if task.trace_path else None

    def evaluate(step: int) -> None:
        _evaluate(task.trial_id, workload, model, data, optimizer, step, progress, emit)

    try:
        _train_mode(model, optimizer)
        evaluate(0)
        losses: list[Any] = []  # this segment's step losses, on the device
        synchronize(device)
        segment_start, cpu_start, recorded_before = time.perf_counter(), time.process_time(), (0.0, 0.0)
        # a one-run method's pilot (AutoLR) runs first, inside the trial: its steps and seconds are the trial's, its
        # losses go to the scheduler (a diverging pilot loss is its measurement, not the trial's failure), and the
        # evaluations follow the run after it (steps to target count the pilot's steps)
        pilot = getattr(scheduler, "pilot_steps", 0)
        for step in range(pilot + budget):
            loss = workload.train_loss(model, data, step if step < pilot else step - pilot)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if recording is not None:
                recording.log_loss(loss)
            optimizer.step()
            if step < pilot:
                scheduler.step(loss)
                continue
            scheduler.step()
            losses.append(loss.detach())
            run_steps = step + 1 - pilot
            if run_steps % workload.eval_every == 0 or run_steps == budget:
                synchronize(device)  # the clock is read here only: the segment's steps have all run
                recorded = (0.0, 0.0) if recording is None else recording.spent_since(recorded_before)
                progress.train_seconds += time.perf_counter() - segment_start - recorded[0]
                progress.cpu_seconds += time.process_time() - cpu_start - recorded[1]
                progress.losses = _host_losses(losses, step + 1 - len(losses))
                losses.clear()
                evaluate(step + 1)
                synchronize(device)
                segment_start, cpu_start = time.perf_counter(), time.process_time()
                recorded_before = (0.0, 0.0) if recording is None else (recording.seconds, recording.cpu_seconds)
    finally:
        if recording is not None:
            recording.recorder.close()


class _RecordingClock:
    """Records the gradient norms of a trial into ``trace_path`` and measures the time recording takes.

    The recorder's pre-hook runs inside ``optimizer.step()``; two hooks around it measure its time, which is taken
    out of the training time: recording serves the benchmark's refined method, it is not part of the recorded
    method's cost (it would make linear decay look ~15% slower than cosine on tiny models).
    """

    def __init__(self, optimizer: Any, trace_path: str, budget: int) -> None:
        from ...torch.recorder import GradNormRecorder

        # A rerun (resume) starts from step 0: the trace of the interrupted attempt goes. One flush at the end: a
        # trial that dies is rerun from scratch anyway.
        Path(trace_path).unlink(missing_ok=True)
        self.seconds = 0.0  # total time spent recording
        self.cpu_seconds = 0.0  # the same in process CPU time
        self._start = self._cpu_start = 0.0
        optimizer.register_step_pre_hook(self._before_recording)
        self.recorder = GradNormRecorder(optimizer, trace_path, flush_every=budget, start_step=0)
        optimizer.register_step_pre_hook(self._after_recording)

    def _before_recording(self, *_: Any) -> None:
        self._start, self._cpu_start = time.perf_counter(), time.process_time()

    def _after_recording(self, *_: Any) -> None:
        self.seconds += time.perf_counter() - self._start
        self.cpu_seconds += time.process_time() - self._cpu_start

    def log_loss(self, loss: Any) -> None:
        """Log the step's loss (a tensor: it stays on its device until the recorder's flush) with its norm."""
        self.recorder.log_loss(loss)

    def spent_since(self, before: tuple[float, float]) -> tuple[float, float]:
        """The (wall, CPU) time spent recording since the totals were ``before``."""
        return self.seconds - before[0], self.cpu_seconds - before[1]


def build_on(workload: Workload, seed: int, device: Any) -> tuple[Any, Any]:
    """``workload.build(seed, device)``; a workload written before devices existed (``build(self, seed)``) still runs
    on the CPU, and gets a one-line error naming the fix on a GPU."""
    if "device" in inspect.signature(workload.build).parameters:
        return workload.build(seed, device=device)
    if str(device) != "cpu":
        raise ValueError(
            f"workload {workload.name!r}: build(seed) takes no device, so it cannot run on {device}; "
            "write build(self, seed, device) and put the model and the data on that device"
        )
    return workload.build(seed)


def _host_losses(losses: list[Any], first_step: int) -> list[float]:
    """The step losses of a segment as floats (one device-to-host transfer); raises ``_Diverged`` naming the first
    step whose loss is not finite."""
    import torch

    if not losses:
        return []
    values = torch.stack([loss.float().reshape(()) for loss in losses]).cpu().tolist()
    for offset, value in enumerate(values):
        if not math.isfinite(value):
            raise _Diverged(f"diverged: loss={value} at step {first_step + offset}")
    return values


def _out_of_memory_error() -> type[BaseException]:
    """``torch.OutOfMemoryError`` (``torch.cuda.OutOfMemoryError`` in older torch)."""
    import torch

    return getattr(torch, "OutOfMemoryError", None) or torch.cuda.OutOfMemoryError


def _release_device_memory() -> None:
    """Give the cached blocks of a trial that ran out of memory back (a Ray worker process lives on)."""
    import torch

    if torch.cuda.is_initialized():
        torch.cuda.empty_cache()


def _train_mode(model: Any, optimizer: Any, train: bool = True) -> None:
    """Switch the model and the optimizer (schedule-free evaluates at its averaged point x) between modes."""
    model.train(train)
    mode = "train" if train else "eval"
    if hasattr(optimizer, mode):
        getattr(optimizer, mode)()


def _evaluate(
    trial_id: str,
    workload: Workload,
    model: Any,
    data: Any,
    optimizer: Any,
    step: int,
    progress: _Progress,
    emit: Callable[[StoreRow], None],
) -> None:
    """Evaluate (untimed), emit the measurement, and note the first step that meets the target."""
    import torch

    _train_mode(model, optimizer, train=False)
    with torch.no_grad():
        metrics = {k: float(v) for k, v in workload.evaluate(model, data).items()}
    _train_mode(model, optimizer)
    if workload.metric not in metrics:
        raise ValueError(
            f"workload {workload.name!r}: evaluate() returned {sorted(metrics)}, without its metric {workload.metric!r}"
        )
    value = metrics.pop(workload.metric)
    if not math.isfinite(value):
        raise _Diverged(f"diverged: {workload.metric}={value} at step {step}")
    losses = progress.losses
    train_loss = sum(losses) / len(losses) if losses else None
    lr = float(optimizer.param_groups[0]["lr"])
    emit(Measurement(trial_id, step, progress.train_seconds, train_loss, value, lr, metrics))
    losses.clear()
    if progress.steps_to_target is None and _met(value, workload.target, workload.higher_is_better):
        progress.steps_to_target, progress.seconds_to_target = step, progress.train_seconds
        progress.cpu_seconds_to_target = progress.cpu_seconds
    progress.final_metric = value


def record_failure(store: Store, task: TrialTask, error: str) -> None:
    """Mark a trial failed (its process died, or its remote task was lost): one that never started gets its start
    row first (``start_row``: the workload's name and metric, as the trial itself would have written it); a
    finished one is left alone. Every executor records a lost trial through here."""
    row = store.trial(task.trial_id)
    if row is None:
        store.write_rows([start_row(task, resolve_workload(task.workload_ref, task.workload_overrides))])
    elif row.status != "running":
        return
    store.write_rows([TrialFinish(task.trial_id, "failed", error)])
