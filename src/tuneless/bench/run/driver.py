"""The driver of ``tuneless bench``: plan a run's trials, run them with an executor, resume (then the report:
``tuneless.bench.benchmark``).

Order: all trials of methods without a prior run first; then each method with a prior (``refined``) gets, per
workload and seed, the best trial of its prior method by the run's first tuning measure (``BenchConfig.tune_by``,
the suite's: ``scoring.best_trials``, fewest steps to target, ties broken by the final metric; in the long suite
``scoring.best_final_trials``), refines that trial's gradient-norm trace into a schedule (``tuneless.refine.refine``;
L2 norms for SGD-type optimizers, L1 for Adam-type) and re-tunes its peak lr on the same grid. After each level's
grid, every grid method adds trials around its own best peak lr (by each tuning measure) per workload and seed until
it is bracketed within ``lr_resolution`` (``lr_bracketing``; off when ``lr_resolution`` is ``None``). Trials already
finished or failed in the store are never rerun; a trial left 'running' by an interrupted driver is rerun from the
start (its rows are replaced step by step).
"""

from __future__ import annotations

import dataclasses
import secrets
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from ..catalog.methods import Method, method_info, resolve_methods
from ..catalog.workload import Workload
from ..record.store import Store
from .config import BenchConfig, artifacts_dir
from .local_executor import LocalExecutor
from .plan import (
    PlannedTrial,
    PreparedWorkload,
    bracketing_trials,
    longest_first,
    method_levels,
    plan_trials,
    prepare_workloads,
)
from .prior import attach_prior, refresh_prior_charges
from .runner import Executor, TrialTask, record_failure

__all__ = ["run_trials"]


def run_trials(
    store_path: str | Path,
    config: BenchConfig | None = None,
    *,
    resume: bool = False,
    run_id: str | None = None,
    add_methods: Sequence[str] = (),
    workers: int | None = None,
    progress: bool = True,
    executor: Executor | None = None,
    device: str = "cpu",
    trials_per_device: int = 1,
    workloads: Mapping[str, Workload] | None = None,
    say: Callable[[str], None] = lambda text: print(text, file=sys.stderr),
) -> str:
    """Run (or resume) a benchmark's trials; returns its run id. ``config`` is not changed: the run stores a copy
    with what the run fixed (targets, data hashes, environment, method info).

    ``executor``: a ``runner.Executor`` (default: ``LocalExecutor(workers, device, trials_per_device)``).
    ``add_methods``: with ``resume``, methods the run did not have yet: they join it (the run's config records them)
    and run after its own.
    ``device``: ``auto``, ``cpu``, ``cuda`` or ``cuda:N`` (``device.resolve_device``); the run's config records the
    device's name and the torch and CUDA versions (``device.environment``). ``workloads``: the config's workload
    references already resolved (``plan.resolve_workloads``), so that they are not resolved again.
    """
    from .device import environment, resolve_device

    device = resolve_device(device)
    store = Store(store_path)
    try:
        if resume:
            run_id = run_id or store.latest_run_id()
            config = store.run(run_id).config
            say(f"resuming run {run_id} (suite {config.suite})")
            config = _add_methods(store, run_id, config, add_methods, say)
        else:
            if config is None:
                raise ValueError("run_benchmark: give a config or resume=True")
            run_id = run_id or f"{config.suite}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
        methods = resolve_methods(config.methods)
        executor = executor or LocalExecutor(workers, device, trials_per_device)
        prepared, config = prepare_workloads(config, say, workloads)
        here = environment(device)
        if resume and config.environment is not None and config.environment != here:
            say(f"note: run {run_id} started on {config.environment}; it resumes on {here}")
        if not resume:
            config = dataclasses.replace(config, environment=here, method_info=method_info(methods))
            store.create_run(run_id, config)
        for each in prepared:
            each.workload.prepare(list(range(config.seeds)))
        _run_levels(store, run_id, config, prepared, methods, executor, progress, say, device)
    finally:
        store.close()
    return run_id


def _add_methods(
    store: Store, run_id: str, config: BenchConfig, names: Sequence[str], say: Callable[[str], None]
) -> BenchConfig:
    """The run's config with the methods of ``names`` it lacks added (and stored): a resumed run grows."""
    added = [name for name in names if name not in config.methods]
    if not added:
        return config
    config = dataclasses.replace(
        config,
        methods=config.methods + added,
        method_info={**config.method_info, **method_info(resolve_methods(added))},
    )
    store.update_run_config(run_id, config)
    say(f"added to run {run_id}: {', '.join(added)}")
    return config


def _run_levels(
    store: Store,
    run_id: str,
    config: BenchConfig,
    workloads: Sequence[PreparedWorkload],
    methods: Sequence[Method],
    executor: Executor,
    progress: bool,
    say: Callable[[str], None],
    device: str = "cpu",
) -> None:
    seeds, lr_resolution, tune_by = list(range(config.seeds)), config.lr_resolution, config.tune_by
    planned_ids = {p.trial_id for p in plan_trials(run_id, workloads, methods, seeds)}
    finished = {t.trial_id for t in store.trials(run_id) if t.status in ("done", "failed")}
    with _progress_bar(progress, len(planned_ids), len(finished & planned_ids)) as bar:
        for level in method_levels(methods):
            _run_planned(
                store, run_id, plan_trials(run_id, workloads, level, seeds), executor, bar.advance, device, tune_by
            )
            while lr_resolution is not None:  # method-fair tuning, round by round (lr_bracketing)
                extra = bracketing_trials(store, run_id, workloads, level, seeds, lr_resolution, tune_by)
                if not extra:
                    break
                bar.grow(len(extra))
                _run_planned(store, run_id, extra, executor, bar.advance, device, tune_by)
    refresh_prior_charges(store, run_id, methods)
    failed = [t for t in store.trials(run_id) if t.status == "failed"]
    if failed:
        say(
            f"{len(failed)} trial(s) failed (recorded with infinite time), e.g. {failed[0].workload} / "
            f"{failed[0].method} lr={failed[0].peak_lr}: {str(failed[0].error).splitlines()[0]}"
        )


def _run_claimed(store: Store, tasks: Sequence[TrialTask], executor: Executor, advance: Callable[[str], None]) -> None:
    """Runs the tasks this driver can claim (``Store.claim_trial``: never one that another live driver runs), and
    waits until every task is finished, by this driver or another: the next level needs them all. A claim of a
    driver that died is taken over."""
    remaining = list(tasks)
    while remaining:
        mine = [task for task in remaining if store.claim_trial(task.trial_id)]
        executor.run(mine, store, lambda task: advance(task.trial_id))
        for task in mine:  # an executor that returned without a result: the trial must not be claimed forever
            row = store.trial(task.trial_id)
            if row is None or row.status not in ("done", "failed"):
                record_failure(store, task, "the executor returned without a result")
        remaining = []
        for task in tasks:
            row = store.trial(task.trial_id)
            if row is not None and row.status in ("done", "failed"):
                advance(task.trial_id)
            else:
                remaining.append(task)
        if remaining:  # run by another driver: wait for it (or for its claims to go stale)
            time.sleep(1.0)


def _run_planned(
    store: Store,
    run_id: str,
    planned_trials: Sequence[PlannedTrial],
    executor: Executor,
    advance: Callable[[str], None],
    device: str = "cpu",
    tune_by: Sequence[str] = ("steps",),
) -> None:
    """Run the planned trials that are not finished in the store (a method built on a prior gets it attached: the
    best prior trial by the first of ``tune_by``), each claimed by this driver (``_run_claimed``)."""
    artifacts = artifacts_dir(store.path, run_id)
    stored = store.trials(run_id)
    finished = {t.trial_id for t in stored if t.status in ("done", "failed")}
    tasks = []
    for planned in longest_first(planned_trials, stored):
        if planned.trial_id in finished:
            continue
        trace = None
        if planned.method.records_grad_norms:
            trace = str(artifacts / "traces" / f"{planned.trial_id}.csv")
        task = planned.task(run_id, str(store.path), trace, executor.threads_per_trial(), device)
        if planned.method.prior is not None:
            task = attach_prior(store, task, planned.prepared.workload, planned.method, artifacts, tune_by)
            if task is None:
                advance(planned.trial_id)
                continue
        tasks.append(task)
    _run_claimed(store, tasks, executor, advance)


class _progress_bar:
    """A rich progress bar over the run's trials (or nothing when ``enabled`` is false)."""

    def __init__(self, enabled: bool, total: int, completed: int) -> None:
        self.enabled, self.total, self.completed = enabled, total, completed
        self.seen: set[str] = set()

    def __enter__(self) -> _progress_bar:
        if self.enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.progress = Progress(
                TextColumn("[bold]trials"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                transient=False,
            )
            self.progress.start()
            self.task = self.progress.add_task("trials", total=self.total, completed=self.completed)
        return self

    def grow(self, count: int) -> None:
        """``count`` more trials than planned (a round of method-fair tuning)."""
        self.total += count
        if self.enabled:
            self.progress.update(self.task, total=self.total)

    def advance(self, trial_id: str) -> None:
        if trial_id not in self.seen and self.enabled:
            self.progress.advance(self.task)
        self.seen.add(trial_id)

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self.progress.stop()
