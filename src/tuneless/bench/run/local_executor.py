"""The local executor: each trial in a fresh child process of the driver, ``workers`` at a time (on GPUs, a slot
per trial: ``device.device_slots``)."""

from __future__ import annotations

import collections
import ctypes
import dataclasses
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any

from ..record.store import Store
from .runner import TrialTask, record_failure, run_trial

__all__ = ["LocalExecutor"]


def _die_with_parent() -> None:
    """Linux: ask the kernel to SIGKILL this process when its parent dies (a ``kill -9`` of the driver must not
    leave orphan trials writing into the store while a ``--resume`` reruns them)."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1
        except OSError:
            pass


def _trial_process(task: TrialTask, parent_pid: int) -> None:
    _die_with_parent()
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle
    run_trial(task)


def _warm_up_torch() -> None:
    """Import torch and take one step of SGD and of AdamW on a 1-element tensor in the driver: the forked
    children inherit the imported modules (torch's first optimizer step imports about a second's worth)."""
    import torch

    from ...torch import ScheduleLR

    for name in ("SGD", "AdamW"):
        parameter = torch.nn.Parameter(torch.zeros(1))
        optimizer = getattr(torch.optim, name)([parameter], lr=0.1)
        scheduler = ScheduleLR(optimizer, "constant", 1)
        parameter.square().sum().backward()
        optimizer.step()
        scheduler.step()


class LocalExecutor:
    """Runs each trial in a fresh child process (``fork`` where available), ``workers`` at a time.

    On a GPU (``device`` ``"cuda"``: every visible GPU, ``"cuda:N"``: that one) each GPU holds
    ``trials_per_device`` trials at a time (several small trials share a GPU; 1: one trial per GPU), so at most
    GPUs x ``trials_per_device`` trials run at once (fewer if ``workers`` says so); each task gets its slot's
    ``cuda:N`` as its device.

    A child that dies (segfault, out of memory, killed) is recorded as a failed trial; the others go on.
    The children write their rows straight into the store (WAL mode).
    """

    def __init__(self, workers: int | None = None, device: str = "cpu", trials_per_device: int = 1) -> None:
        from .device import device_slots

        self.slots = device_slots(device, trials_per_device)
        if self.slots == []:
            raise ValueError(f"device {device!r}: no GPU is visible")
        if workers is None:  # all cores this process may use, or every GPU slot
            if self.slots is not None:
                workers = len(self.slots)
            else:
                workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        if not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers={workers!r} must be a positive integer")
        self.workers = workers if self.slots is None else min(workers, len(self.slots))
        methods = multiprocessing.get_all_start_methods()
        self.context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")

    def threads_per_trial(self) -> int | None:
        """1, whatever ``workers`` is: a forked trial hangs in its first multi-threaded torch op when the driver has
        run one before the fork (libgomp, torch's OpenMP on Linux, is not fork-safe; preparing a workload's data
        runs such ops). Use as many workers as cores for throughput."""
        return 1

    def _start_context(self) -> Any:
        """``fork``, unless CUDA is initialised in this process (a forked child could not use it): ``spawn``."""
        import torch

        if self.slots is not None and torch.cuda.is_initialized():
            return multiprocessing.get_context("spawn")
        return self.context

    def run(self, tasks: Sequence[TrialTask], store: Store, on_done: Callable[[TrialTask], None]) -> None:
        _warm_up_torch()
        context = self._start_context()
        pending = collections.deque(tasks)
        running: dict[Any, tuple[Any, TrialTask, str | None]] = {}
        free_slots = collections.deque(self.slots or [])
        try:
            while pending or running:
                while pending and len(running) < self.workers:
                    task = pending.popleft()
                    slot = free_slots.popleft() if self.slots is not None else None
                    if slot is not None:
                        task = dataclasses.replace(task, device=slot)
                    process = context.Process(target=_trial_process, args=(task, os.getpid()), daemon=True)
                    process.start()
                    running[process.sentinel] = (process, task, slot)
                for sentinel in multiprocessing.connection.wait(list(running), timeout=1.0):
                    process, task, slot = running.pop(sentinel)
                    process.join()
                    if slot is not None:
                        free_slots.append(slot)
                    if process.exitcode != 0:
                        record_failure(store, task, f"trial process died with exit code {process.exitcode}")
                    on_done(task)
        finally:
            for process, _, _ in running.values():  # interrupted: stop the children; their trials stay 'running'
                process.kill()
                process.join()
