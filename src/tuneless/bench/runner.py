"""Running trials: one trial = one (workload, method, trial config, seed), trained in its own process.

``run_trial(spec) -> rows`` is the unit of work: a top-level function of a picklable ``TrialSpec`` that trains,
evaluates every ``eval_every`` steps (untimed) and returns its rows. With ``spec.store_path`` set it also writes
each row to the SQLite store the moment it exists (the local executor); without it the caller replays the returned
rows into the store with ``Store.write_rows`` (a remote executor, e.g. Ray, whose workers cannot reach the
driver's file).

Time to target (AlgoPerf, Dahl et al. 2023, section 4.3): the accumulated training time (forward, backward,
optimizer and schedule steps; evaluation excluded) at the first evaluation whose metric meets the target;
steps to target likewise in optimizer steps. A trial whose loss or metric becomes NaN/inf, or that raises, is a
failure (its times are infinite: NULL in the store) and the suite goes on.
"""

from __future__ import annotations

import collections
import ctypes
import dataclasses
import hashlib
import math
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .methods import METHODS, Method, TrialConfig, make_optimizer
from .spec import Workload
from .store import Store
from .workloads import resolve_workload

__all__ = ["LocalExecutor", "TrialSpec", "run_trial", "trial_id"]


@dataclasses.dataclass(frozen=True)
class TrialSpec:
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


def start_fields(spec: TrialSpec, workload: Workload) -> dict[str, Any]:
    """The ``trials`` row of a trial as it starts (also used to record a trial that failed before it could)."""
    return {
        "trial_id": spec.trial_id,
        "run_id": spec.run_id,
        "workload": workload.name,
        "method": spec.method,
        "peak_lr": spec.config.peak_lr,
        "seed": spec.seed,
        "schedule": spec.config.schedule,
        "optimizer": spec.config.optimizer,
        "metric_name": workload.metric,
        "higher_is_better": int(workload.higher_is_better),
        "target": workload.target,
        "budget_steps": workload.budget_steps,
        "prior_trial_id": spec.prior_trial_id,
        "prior_seconds": spec.prior_seconds,
        "prior_steps": spec.prior_steps,
        "started": time.time(),
    }


def run_trial(spec: TrialSpec) -> list[dict[str, Any]]:
    """Train one trial; returns its rows (``start``, ``measurement``..., ``finish``) and streams them to the store
    when ``spec.store_path`` is set. Never raises for a failing trial: the failure is a ``finish`` row."""
    import torch

    from ..torch import ScheduleLR

    rows: list[dict[str, Any]] = []
    store = Store(spec.store_path) if spec.store_path else None

    def emit(row: dict[str, Any]) -> None:
        rows.append(row)
        if store is not None:
            store.write_rows([row])

    workload = resolve_workload(spec.workload_ref, spec.workload_overrides)
    budget = workload.budget_steps
    emit({"kind": "start", "fields": start_fields(spec, workload)})
    train_seconds = 0.0
    result: dict[str, Any] = {"steps_to_target": None, "seconds_to_target": None, "final_metric": None}
    recorder = None
    clock = {"start": 0.0, "recording": 0.0}  # time spent recording gradient norms (excluded from training time)
    try:
        if spec.threads:
            torch.set_num_threads(spec.threads)
        torch.manual_seed(spec.seed)
        model, data = workload.build(spec.seed)
        optimizer = make_optimizer(spec.config.optimizer, model.parameters(), spec.config.peak_lr, budget)
        method = METHODS.get(spec.method)
        if method is not None and method.scheduler is not None:  # a method with its own scheduler
            scheduler = method.scheduler(optimizer, workload, budget)
        else:
            scheduler = ScheduleLR(optimizer, spec.config.schedule, budget)
        if spec.trace_path:
            from ..torch.recorder import GradNormRecorder

            # A rerun (resume) starts from step 0: the trace of the interrupted attempt goes. One flush at the end:
            # a trial that dies is rerun from scratch anyway.
            Path(spec.trace_path).unlink(missing_ok=True)
            # The recorder's pre-hook runs inside optimizer.step(); two hooks around it measure its time, which is
            # taken out of the training time: recording serves the benchmark's refined method, it is not part of the
            # recorded method's cost (it would make linear decay look ~15% slower than cosine on tiny models).
            optimizer.register_step_pre_hook(lambda *_: clock.__setitem__("start", time.perf_counter()))
            recorder = GradNormRecorder(optimizer, spec.trace_path, flush_every=budget, start_step=0)
            optimizer.register_step_pre_hook(
                lambda *_: clock.__setitem__("recording", clock["recording"] + time.perf_counter() - clock["start"])
            )
        losses: list[float] = []

        def evaluate(step: int) -> None:
            model.eval()
            if hasattr(optimizer, "eval"):  # schedule-free: evaluate at the averaged point x
                optimizer.eval()
            with torch.no_grad():
                metrics = {k: float(v) for k, v in workload.evaluate(model, data).items()}
            model.train()
            if hasattr(optimizer, "train"):
                optimizer.train()
            if workload.metric not in metrics:
                raise ValueError(
                    f"workload {workload.name!r}: evaluate() returned {sorted(metrics)}, "
                    f"without its metric {workload.metric!r}"
                )
            value = metrics.pop(workload.metric)
            if not math.isfinite(value):
                raise _Diverged(f"diverged: {workload.metric}={value} at step {step}")
            emit(
                {
                    "kind": "measurement",
                    "fields": {
                        "trial_id": spec.trial_id,
                        "step": step,
                        "train_seconds": train_seconds,
                        "train_loss": sum(losses) / len(losses) if losses else None,
                        "metric": value,
                        "lr": float(optimizer.param_groups[0]["lr"]),
                        "extra": metrics,
                    },
                }
            )
            losses.clear()
            if result["steps_to_target"] is None and _met(value, workload.target, workload.higher_is_better):
                result["steps_to_target"], result["seconds_to_target"] = step, train_seconds
            result["final_metric"] = value

        model.train()
        if hasattr(optimizer, "train"):
            optimizer.train()
        evaluate(0)
        for step in range(budget):
            start = time.perf_counter()
            loss = workload.train_loss(model, data, step)
            loss_value = float(loss.detach())
            if not math.isfinite(loss_value):
                raise _Diverged(f"diverged: loss={loss_value} at step {step}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if recorder is not None:
                recorder.log_loss(loss_value)
            recorded_before = clock["recording"]
            optimizer.step()
            scheduler.step()
            train_seconds += time.perf_counter() - start - (clock["recording"] - recorded_before)
            losses.append(loss_value)
            if (step + 1) % workload.eval_every == 0 or step + 1 == budget:
                evaluate(step + 1)
        status, error = "done", None
    except _Diverged as err:
        status, error = "failed", str(err)
    except Exception as err:  # a crashing trial is a failed trial; the suite goes on
        status, error = "failed", f"{type(err).__name__}: {err}\n{traceback.format_exc(limit=4)}"
    finally:
        if recorder is not None:
            recorder.close()
    if status == "failed":
        result = {"steps_to_target": None, "seconds_to_target": None, "final_metric": None}
    emit(
        {
            "kind": "finish",
            "trial_id": spec.trial_id,
            "fields": {"status": status, "error": error, "train_seconds": train_seconds, **result},
        }
    )
    if store is not None:
        store.close()
    return rows


# --- executors -------------------------------------------------------------------------------------------------
def _die_with_parent() -> None:
    """Linux: ask the kernel to SIGKILL this process when its parent dies (a ``kill -9`` of the driver must not
    leave orphan trials writing into the store while a ``--resume`` reruns them)."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1
        except OSError:
            pass


def _trial_process(spec: TrialSpec, parent_pid: int) -> None:
    _die_with_parent()
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle
    run_trial(spec)


def _warm_up_torch() -> None:
    """Import torch and take one optimizer step of each kind on a 1-element tensor in the driver: the forked
    children inherit the imported modules (torch's first optimizer step imports about a second's worth)."""
    import torch

    from ..torch import ScheduleLR

    for name in ("SGD", "AdamW"):
        parameter = torch.nn.Parameter(torch.zeros(1))
        optimizer = getattr(torch.optim, name)([parameter], lr=0.1)
        scheduler = ScheduleLR(optimizer, "constant", 1)
        parameter.square().sum().backward()
        optimizer.step()
        scheduler.step()


class LocalExecutor:
    """Runs each trial in a fresh child process (``fork`` where available), ``workers`` at a time.

    A child that dies (segfault, out of memory, killed) is recorded as a failed trial; the others go on.
    The children write their rows straight into the store (WAL mode).
    """

    def __init__(self, workers: int | None = None) -> None:
        if workers is None:  # all cores this process may use
            workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        if not isinstance(workers, int) or workers < 1:
            raise ValueError(f"--workers {workers!r}: must be a positive integer")
        self.workers = workers
        methods = multiprocessing.get_all_start_methods()
        self.context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")

    def threads_per_trial(self) -> int | None:
        return 1 if self.workers > 1 else None

    def run(self, specs: Sequence[TrialSpec], store: Store, on_done: Callable[[TrialSpec], None]) -> None:
        _warm_up_torch()
        pending = collections.deque(specs)
        running: dict[Any, tuple[Any, TrialSpec]] = {}
        try:
            while pending or running:
                while pending and len(running) < self.workers:
                    spec = pending.popleft()
                    process = self.context.Process(target=_trial_process, args=(spec, os.getpid()), daemon=True)
                    process.start()
                    running[process.sentinel] = (process, spec)
                for sentinel in multiprocessing.connection.wait(list(running), timeout=1.0):
                    process, spec = running.pop(sentinel)
                    process.join()
                    if process.exitcode != 0:
                        record_failure(store, spec, f"trial process died with exit code {process.exitcode}")
                    on_done(spec)
        finally:
            for process, _ in running.values():  # interrupted: stop the children; their trials stay 'running'
                process.kill()
                process.join()


def record_failure(store: Store, spec: TrialSpec, error: str) -> None:
    """Mark a trial failed: one that never started gets its row first; a finished one is left alone."""
    row = store.trial(spec.trial_id)
    if row is None:
        store.start_trial(start_fields(spec, resolve_workload(spec.workload_ref, spec.workload_overrides)))
    elif row["status"] != "running":
        return
    store.finish_trial(
        spec.trial_id, status="failed", error=error, steps_to_target=None, seconds_to_target=None, final_metric=None
    )


def plan_trials(
    run_id: str,
    workloads: Sequence[tuple[str, Mapping[str, Any], Workload]],
    methods: Sequence[Method],
    seeds: Sequence[int],
) -> list[tuple[str, Mapping[str, Any], Workload, Method, TrialConfig, int, str]]:
    """All trials of a run: (workload ref, overrides, workload, method, config, seed, trial id)."""
    out = []
    for ref, overrides, workload in workloads:
        for method in methods:
            for config in method.trials(workload):
                for seed in seeds:
                    tid = trial_id(run_id, workload.name, method.name, config.peak_lr, seed, config.label)
                    out.append((ref, overrides, workload, method, config, seed, tid))
    return out
