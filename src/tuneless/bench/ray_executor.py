"""Run benchmark trials as Ray tasks: ``tuneless bench --executor ray [--address ADDR]`` (extra: tuneless[ray]).

Each trial is one Ray task running ``run_trial`` (one CPU each). Workers on other machines cannot reach the
driver's SQLite file, so a task returns its rows (and its gradient-norm trace, for the refined method) and the
driver writes them into the store as each task finishes. ``--resume`` works as with the local executor: trials
finished in the store are not planned again; a task lost with its node is recorded as a failed trial.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .runner import TrialSpec, run_trial
from .store import Store

__all__ = ["RayExecutor"]


def _trial_task(spec: TrialSpec) -> tuple[list[dict[str, Any]], str | None]:
    """What a Ray worker runs: the trial, then the text of its trace file (written on the worker's disk)."""
    rows = run_trial(spec)
    trace = None
    if spec.trace_path and Path(spec.trace_path).is_file():
        trace = Path(spec.trace_path).read_text()
    return rows, trace


class RayExecutor:
    """Trials as Ray tasks on a running cluster (``address``) or a local Ray instance (``address=None``)."""

    def __init__(self, address: str | None = None, num_cpus: int | None = None) -> None:
        try:
            import ray
        except ModuleNotFoundError:
            raise ImportError("the Ray executor needs ray: pip install 'tuneless[ray]'") from None
        self.ray = ray
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if address:
                kwargs["address"] = address
            elif num_cpus:
                kwargs["num_cpus"] = num_cpus
            ray.init(**kwargs)
        self.task = ray.remote(num_cpus=1, max_retries=0)(_trial_task)

    def threads_per_trial(self) -> int:
        return 1  # one CPU per task, as Ray schedules them

    def run(self, specs: Sequence[TrialSpec], store: Store, on_done: Callable[[TrialSpec], None]) -> None:
        pending = {self.task.remote(dataclasses.replace(spec, store_path=None)): spec for spec in specs}
        while pending:
            ready, _ = self.ray.wait(list(pending), num_returns=1)
            spec = pending.pop(ready[0])
            try:
                rows, trace = self.ray.get(ready[0])
            except Exception as err:  # the task or its worker died: a failed trial, the suite goes on
                rows, trace = _failed_rows(spec, f"Ray task failed: {type(err).__name__}: {err}"), None
            if trace is not None and spec.trace_path and not Path(spec.trace_path).exists():
                Path(spec.trace_path).parent.mkdir(parents=True, exist_ok=True)
                Path(spec.trace_path).write_text(trace)
            store.write_rows(rows)
            on_done(spec)


def _failed_rows(spec: TrialSpec, error: str) -> list[dict[str, Any]]:
    start = {
        "trial_id": spec.trial_id,
        "run_id": spec.run_id,
        "workload": spec.workload_ref,
        "method": spec.method,
        "peak_lr": spec.config.peak_lr,
        "seed": spec.seed,
        "schedule": spec.config.schedule,
        "optimizer": spec.config.optimizer,
    }
    finish = {"status": "failed", "error": error, "steps_to_target": None, "seconds_to_target": None}
    return [
        {"kind": "start", "fields": start},
        {"kind": "finish", "trial_id": spec.trial_id, "fields": {**finish, "final_metric": None}},
    ]
