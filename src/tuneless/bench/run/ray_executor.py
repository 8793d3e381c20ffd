"""Run benchmark trials as Ray tasks: ``tuneless bench --executor ray [--address ADDR]`` (extra: tuneless[ray]).

Each trial is one Ray task running ``run_trial`` (one CPU each). Workers on other machines cannot reach the
driver's SQLite file, so a task returns its rows (and its gradient-norm trace, for the refined method) and the
driver writes them into the store as each task finishes. ``--resume`` works as with the local executor: trials
finished in the store are not planned again; a task lost with its node is recorded as a failed trial
(``runner.record_failure``, as the local executor records a trial process that died).
"""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..record.rows import StoreRow
from ..record.store import Store
from .runner import TrialTask, record_failure, run_trial

__all__ = ["RayExecutor"]


def _remote_trial(task: TrialTask) -> tuple[list[StoreRow], str | None]:
    """What a Ray worker runs: the trial, then the text of its trace file (written on the worker's disk)."""
    rows = run_trial(task)
    trace = None
    if task.trace_path and Path(task.trace_path).is_file():
        trace = Path(task.trace_path).read_text()
    return rows, trace


def check_reachable(address: str, timeout: float = 10.0) -> None:
    """A ``HOST:PORT`` (or ``ray://HOST:PORT``) address must accept a TCP connection within ``timeout`` seconds:
    Ray itself retries an unreachable head for minutes, printing its logs. ``auto`` and other forms pass."""
    host, colon, port = address.removeprefix("ray://").rpartition(":")
    if not colon or not host or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as err:
        reason = "timed out" if isinstance(err, TimeoutError) else (err.strerror or str(err)).lower()
        raise ValueError(
            f"--address {address!r}: no Ray head answers there ({reason}); start one with `ray start --head` "
            "on that machine, or check the host and port"
        ) from None


class RayExecutor:
    """Trials as Ray tasks on a running cluster (``address``) or a local Ray instance (``address=None``)."""

    def __init__(self, address: str | None = None, num_cpus: int | None = None) -> None:
        try:
            import ray
        except ModuleNotFoundError:
            raise ImportError("the Ray executor needs ray: pip install 'tuneless[ray]'") from None
        self.ray = ray
        if address:
            check_reachable(address)  # also when this process already runs Ray: the address asked for must answer
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if address:
                kwargs["address"] = address
            elif num_cpus:
                kwargs["num_cpus"] = num_cpus
            ray.init(**kwargs)
        self.remote_trial = ray.remote(num_cpus=1, max_retries=0)(_remote_trial)

    def threads_per_trial(self) -> int:
        return 1  # one CPU per task, as Ray schedules them

    def run(self, tasks: Sequence[TrialTask], store: Store, on_done: Callable[[TrialTask], None]) -> None:
        pending = {self.remote_trial.remote(dataclasses.replace(task, store_path=None)): task for task in tasks}
        while pending:
            ready, _ = self.ray.wait(list(pending), num_returns=1)
            task = pending.pop(ready[0])
            try:
                rows, trace = self.ray.get(ready[0])
            except Exception as err:  # the task or its worker died: a failed trial, the suite goes on
                record_failure(store, task, f"Ray task failed: {type(err).__name__}: {err}")
            else:
                if trace is not None and task.trace_path and not Path(task.trace_path).exists():
                    Path(task.trace_path).parent.mkdir(parents=True, exist_ok=True)
                    Path(task.trace_path).write_text(trace)
                store.write_rows(rows)
            on_done(task)
