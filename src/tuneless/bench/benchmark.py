"""The driver of ``tuneless bench``: plan a run's trials, run them with an executor, resume, report.

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
import itertools
import secrets
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..limits import check_seeds
from ..output_files import atomic_path
from .lr_bracketing import check_resolution, check_tuning_measures, next_round
from .methods import Method, TrialConfig, resolve_methods
from .runner import Executor, LocalExecutor, TrialTask, record_failure, trial_id
from .scoring import best_final_trials, best_trials
from .store import Store
from .suites import get_suite, run_tuning_measures
from .targets import load_targets, target_for
from .workload import Workload
from .workloads import resolve_workload

__all__ = ["BenchConfig", "PlannedTrial", "PreparedWorkload", "artifacts_dir", "plan_trials", "run_benchmark"]


@dataclasses.dataclass
class BenchConfig:
    """What a run is; stored as JSON in ``runs.config`` so that ``--resume`` replans the same trials."""

    suite: str
    workloads: list[str]
    methods: list[str]
    seeds: int
    overrides: dict[str, dict[str, Any]]  # per workload reference, including the target used
    use_targets: bool = True
    environment: dict[str, Any] | None = None  # where the run started: device, its name, torch, CUDA (device.py)
    lr_resolution: float | None = None  # None: the grid only (runs stored before method-fair tuning existed)
    # the measures whose best lrs are bracketed, the first also choosing a prior trial (lr_bracketing); None: the
    # suite's (a run stored before they were recorded resumes with its suite's)
    tune_by: list[str] | None = None
    # workload name -> the hash of the data it trained on (``Workload.data_hash``), recorded when the run starts, so
    # that targets set from the run later name its data, not the data of the machine that sets them; None: a run
    # stored before they were recorded
    data_hashes: dict[str, str] | None = None

    def __post_init__(self) -> None:
        self.tune_by = list(run_tuning_measures(self.suite, self.tune_by))

    @classmethod
    def from_options(
        cls,
        suite: str,
        workloads: Sequence[str] | None = None,
        methods: Sequence[str] | None = None,
        seeds: int | None = None,
        use_targets: bool = True,
        lr_resolution: float | None | str = "suite",
    ) -> BenchConfig:
        """``lr_resolution``: method-fair tuning's factor (``lr_bracketing``), ``None`` for the grid only, or
        ``"suite"`` for the suite's own (``Suite.lr_resolution``)."""
        definition = get_suite(suite)
        refs = list(workloads or definition.workloads)
        overrides = {ref: dict(definition.workloads.get(ref, {})) for ref in refs}
        check_seeds(seeds)
        if lr_resolution == "suite":
            lr_resolution = definition.lr_resolution
        if lr_resolution is not None:
            lr_resolution = check_resolution(lr_resolution)
        methods = list(methods or definition.methods)
        return cls(suite, refs, methods, seeds or definition.seeds, overrides, use_targets, lr_resolution=lr_resolution)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def artifacts_dir(store_path: str | Path, run_id: str) -> Path:
    """Gradient-norm traces and refined schedules of a run: ``<store>.artifacts/<run_id>/``."""
    store_path = Path(store_path)
    return store_path.with_name(store_path.name + ".artifacts") / run_id


@dataclasses.dataclass(frozen=True)
class PreparedWorkload:
    """A workload of the run: its reference (built-in name or ``MODULE:CLASS``), the overrides it runs with
    (including the target used) and the workload built from both."""

    ref: str
    overrides: Mapping[str, Any]
    workload: Workload


@dataclasses.dataclass(frozen=True)
class PlannedTrial:
    """One trial of a run's plan: a workload, a method, one of the method's trial configurations and a seed."""

    prepared: PreparedWorkload
    method: Method
    config: TrialConfig
    seed: int
    trial_id: str

    def task(
        self, run_id: str, store_path: str, trace_path: str | None, threads: int | None, device: str = "cpu"
    ) -> TrialTask:
        """What an executor runs for this trial (a method with ``budget_fraction < 1`` runs at that part of the
        workload's step budget: a tuning stage at a shorter horizon)."""
        overrides = self.prepared.overrides
        if self.method.budget_fraction != 1.0:
            budget = max(2, round(self.method.budget_fraction * self.prepared.workload.budget_steps))
            overrides = {**overrides, "budget_steps": budget}
        return TrialTask(
            run_id=run_id,
            trial_id=self.trial_id,
            workload_ref=self.prepared.ref,
            workload_overrides=overrides,
            method=self.method.name,
            config=self.config,
            seed=self.seed,
            store_path=store_path,
            trace_path=trace_path,
            threads=threads,
            device=device,
        )


def plan_trials(
    run_id: str, workloads: Sequence[PreparedWorkload], methods: Sequence[Method], seeds: Sequence[int]
) -> list[PlannedTrial]:
    """All trials of a run, workload by workload, then method, configuration and seed."""
    planned = []
    for prepared in workloads:
        for method in methods:
            for config in method.trials(prepared.workload):
                for seed in seeds:
                    tid = trial_id(run_id, prepared.workload.name, method.name, config.peak_lr, seed, config.label)
                    planned.append(PlannedTrial(prepared, method, config, seed, tid))
    return planned


def prepare_workloads(config: BenchConfig, say: Callable[[str], None]) -> list[PreparedWorkload]:
    """Resolve the run's workloads, skip the unavailable ones (with the reason), fix each one's target and record
    the hash of its data (``config.data_hashes``)."""
    targets = load_targets(config.suite) if config.use_targets else {}
    targets_required = get_suite(config.suite).targets_required
    prepared = []
    recorded = config.data_hashes or {}
    hashes = {}
    for ref in config.workloads:
        overrides = dict(config.overrides.get(ref, {}))
        workload = resolve_workload(ref, overrides)
        reason = workload.unavailable_reason()
        if reason:
            say(f"skipping workload {workload.name}: {reason}")
            continue
        data_hash = workload.data_hash()
        hashes[workload.name] = recorded.get(workload.name, data_hash)  # a resumed run keeps what it started on
        if hashes[workload.name] != data_hash:
            say(
                f"note: workload {workload.name}: its data here (hash {data_hash}) differ from the data the run "
                f"started on ({hashes[workload.name]}): its trials are not comparable"
            )
        if not config.use_targets:
            overrides["target"] = None
        elif "target" not in overrides:
            if workload.target is not None:
                overrides["target"] = workload.target
            elif workload.name in targets or targets_required:
                overrides["target"] = target_for(config.suite, workload.name, data_hash, targets)
                set_at = targets.get(workload.name, {}).get("budget_steps")
                if set_at is not None and set_at != workload.budget_steps:
                    say(
                        f"workload {workload.name}: its target was set on {set_at}-step runs and this run trains "
                        f"{workload.budget_steps} steps: time to target measures reaching the {set_at}-step level "
                        f"early; compare final metrics (tuneless bench set-targets --suite {config.suite} sets them "
                        "at this budget)"
                    )
            else:
                overrides["target"] = None
                say(
                    f"workload {workload.name}: target unset (suite {config.suite} has none yet): every time to "
                    f"target is a miss; compare final metrics. Set them: tuneless bench set-targets --suite "
                    f"{config.suite}"
                )
        config.overrides[ref] = overrides
        prepared.append(PreparedWorkload(ref, overrides, workload.with_overrides(target=overrides["target"])))
    if not prepared:
        raise ValueError("no workload can run here (see the messages above)")
    config.data_hashes = {**recorded, **hashes}
    return prepared


def method_levels(methods: Sequence[Method]) -> list[list[Method]]:
    """Methods grouped so that each method's prior is in an earlier group."""
    levels: list[list[Method]] = []
    placed: dict[str, int] = {}
    remaining = list(methods)
    while remaining:
        level = [m for m in remaining if m.prior is None or m.prior in placed]
        for m in level:
            placed[m.name] = len(levels)
        levels.append(level)
        remaining = [m for m in remaining if m not in level]
    return levels


def run_benchmark(
    store_path: str | Path,
    config: BenchConfig | None = None,
    *,
    resume: bool = False,
    run_id: str | None = None,
    workers: int | None = None,
    out_dir: str | Path | None = None,
    progress: bool = True,
    executor: Executor | None = None,
    device: str = "cpu",
    trials_per_device: int = 1,
    say: Callable[[str], None] = lambda text: print(text, file=sys.stderr),
) -> str:
    """Run (or resume) a benchmark; returns its run id. Writes the report to ``out_dir`` when given.

    ``executor``: a ``runner.Executor`` (default: ``LocalExecutor(workers, device, trials_per_device)``).
    ``device``: ``auto``, ``cpu``, ``cuda`` or ``cuda:N`` (``device.resolve_device``); the run's config records the
    device's name and the torch and CUDA versions (``device.environment``).
    """
    from .device import environment, resolve_device

    device = resolve_device(device)
    store = Store(store_path)
    try:
        if resume:
            run_id = run_id or store.latest_run_id()
            run = store.run(run_id)
            config = BenchConfig(**run["config"])
            if "tune_by" not in run["config"]:  # stored before tuning measures: record the ones it resumes with
                store.update_run_config(run_id, {**run["config"], "tune_by": config.tune_by})
            say(f"resuming run {run_id} (suite {config.suite})")
        else:
            if config is None:
                raise ValueError("run_benchmark: give a config or resume=True")
            run_id = run_id or f"{config.suite}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
        methods = resolve_methods(config.methods)
        executor = executor or LocalExecutor(workers, device, trials_per_device)
        workloads = prepare_workloads(config, say)
        here = environment(device)
        if resume and config.environment is not None and config.environment != here:
            say(f"note: run {run_id} started on {config.environment}; it resumes on {here}")
        if not resume:
            config.environment = here
            store.create_run(run_id, config.suite, config.to_dict())
        for prepared in workloads:
            prepared.workload.prepare(list(range(config.seeds)))
        _run_levels(store, run_id, config, workloads, methods, executor, progress, say, device)
    finally:
        store.close()
    if out_dir is not None:
        write_outputs(store_path, run_id, out_dir, say)
    return run_id


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
    finished = {t["trial_id"] for t in store.trials(run_id) if t["status"] in ("done", "failed")}
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
    failed = [t for t in store.trials(run_id) if t["status"] == "failed"]
    if failed:
        say(
            f"{len(failed)} trial(s) failed (recorded with infinite time), e.g. {failed[0]['workload']} / "
            f"{failed[0]['method']} lr={failed[0]['peak_lr']}: {str(failed[0]['error']).splitlines()[0]}"
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
            if row is None or row["status"] not in ("done", "failed"):
                record_failure(store, task, "the executor returned without a result")
        remaining = []
        for task in tasks:
            row = store.trial(task.trial_id)
            if row is not None and row["status"] in ("done", "failed"):
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
    finished = {t["trial_id"] for t in stored if t["status"] in ("done", "failed")}
    tasks = []
    for planned in longest_first(planned_trials, stored):
        if planned.trial_id in finished:
            continue
        trace = None
        if planned.method.records_grad_norms:
            trace = str(artifacts / "traces" / f"{planned.trial_id}.csv")
        task = planned.task(run_id, str(store.path), trace, executor.threads_per_trial(), device)
        if planned.method.prior is not None:
            task = _attach_prior(store, task, planned.prepared.workload, planned.method, artifacts, tune_by)
            if task is None:
                advance(planned.trial_id)
                continue
        tasks.append(task)
    _run_claimed(store, tasks, executor, advance)


def longest_first(planned_trials: Sequence[PlannedTrial], stored: Sequence[Mapping[str, Any]]) -> list[PlannedTrial]:
    """The trials in decreasing order of expected duration, so that a batch (a tuning round waits for all of its
    trials) does not end with one long trial running while the other workers idle (longest processing time
    first). Expected duration: the median wall seconds per step of the run's finished trials on the trial's
    workload, times its steps. Workloads with none finished yet (a new run's first batch) go first, their trials
    interleaved one workload at a time (round robin, in plan order; within a workload full-budget trials before
    shorter ones), so that a long workload's trials are spread over the batch instead of bunched at its end; equal
    expectations keep the plan's order. Only the order changes: each trial's result does not depend on it."""
    per_step: dict[str, list[float]] = {}
    for t in stored:
        if t["status"] == "done" and t["finished"] and t["started"] and t["budget_steps"]:
            per_step.setdefault(t["workload"], []).append((t["finished"] - t["started"]) / t["budget_steps"])

    unknown: dict[str, list[PlannedTrial]] = {}
    known: list[tuple[float, PlannedTrial]] = []
    for planned in planned_trials:
        seconds = per_step.get(planned.prepared.workload.name)
        if not seconds:
            unknown.setdefault(planned.prepared.workload.name, []).append(planned)
        else:
            steps = planned.prepared.workload.budget_steps * planned.method.budget_fraction
            known.append((float(np.median(seconds)) * steps, planned))
    groups = [sorted(group, key=lambda p: -p.method.budget_fraction) for group in unknown.values()]  # stable
    interleaved = [p for group in itertools.zip_longest(*groups) for p in group if p is not None]
    return interleaved + [planned for _, planned in sorted(known, key=lambda item: -item[0])]


def bracketing_trials(
    store: Store,
    run_id: str,
    workloads: Sequence[PreparedWorkload],
    methods: Sequence[Method],
    seeds: Sequence[int],
    lr_resolution: float,
    tune_by: Sequence[str] = ("steps",),
) -> list[PlannedTrial]:
    """The next round of method-fair tuning (``lr_bracketing.next_round``) of every grid method (one trial per
    peak lr of the workload's grid), workload and seed, from the trials finished in the store; ``tune_by`` picks
    the best trial to bracket (``lr_bracketing.TUNING_MEASURES``)."""
    best_of = [_BEST_OF[measure] for measure in check_tuning_measures(tune_by)]
    finished: dict[tuple[str, str, int], dict[float, dict[str, Any]]] = {}
    for trial in store.trials(run_id):
        if trial["status"] in ("done", "failed") and trial["peak_lr"] is not None:
            key = (trial["workload"], trial["method"], trial["seed"])
            finished.setdefault(key, {})[trial["peak_lr"]] = trial
    planned = []
    for prepared in workloads:
        workload = prepared.workload
        for method in methods:
            if method.configs is not None or len(workload.peak_lrs) < 2:
                continue  # a fixed list of trials (or a single lr): nothing to bracket
            template = method.trials(workload)[0]
            grid = [config.peak_lr for config in method.trials(workload)]
            for seed in seeds:
                results = finished.get((workload.name, method.name, seed), {})
                for lr in next_round(grid, results, best_of, lr_resolution):
                    config = dataclasses.replace(template, peak_lr=lr)
                    tid = trial_id(run_id, workload.name, method.name, lr, seed, config.label)
                    planned.append(PlannedTrial(prepared, method, config, seed, tid))
    return planned


def _best_by_steps(trials: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The scoring's best trial among one method's trials of one workload and seed (None: none finished)."""
    return next(iter(best_trials(trials, "steps").values()), None)


def _best_by_final(trials: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The trial with the best final metric among one method's trials of one workload and seed (None: none
    finished)."""
    return next(iter(best_final_trials(trials).values()), None)


_BEST_OF = {"steps": _best_by_steps, "final": _best_by_final}  # lr_bracketing.TUNING_MEASURES


def _charge(trials: Sequence[Mapping[str, Any]]) -> tuple[float, int]:
    """The train seconds and steps of the prior trials a method built on them is charged for."""
    return sum(t["train_seconds"] or 0.0 for t in trials), sum(t["budget_steps"] or 0 for t in trials)


def refresh_prior_charges(store: Store, run_id: str, methods: Sequence[Method]) -> None:
    """Bring the stored charges of methods charged for all their prior's trials up to date: a run resumed under
    other tuning rules may have added prior trials after such a method's trials ran (a no-op otherwise)."""
    trials = store.trials(run_id)
    for method in methods:
        if method.prior is None or method.prior_cost != "all":
            continue
        for trial in trials:
            if trial["method"] != method.name or trial["status"] != "done" or trial["prior_trial_id"] is None:
                continue
            key = (trial["workload"], trial["seed"])
            candidates = [t for t in trials if t["method"] == method.prior and (t["workload"], t["seed"]) == key]
            seconds, steps = _charge(candidates)
            if (trial["prior_seconds"], trial["prior_steps"]) != (seconds, steps):
                store.finish_trial(
                    trial["trial_id"], prior_seconds=seconds, prior_steps=steps, finished=trial["finished"]
                )


def _attach_prior(
    store: Store,
    task: TrialTask,
    workload: Workload,
    method: Method,
    artifacts: Path,
    tune_by: Sequence[str] = ("steps",),
) -> TrialTask | None:
    """Fill in the refined schedule from the best prior trial (by the first of ``tune_by``, the run's tuning
    measures) of the same workload and seed; ``None`` (and a failed trial in the store) when there is no usable
    prior. The prior is chosen once per workload and seed: a trial of the method that already started from a
    prior fixes it for the method's later trials (a run resumed under other tuning rules, which may have added
    prior trials since, keeps every trial of the method on one prior)."""
    stored = store.trials(task.run_id)
    candidates = sorted(  # ties between equally good trials go to the lowest lr, whatever order trials ran in
        (
            t
            for t in stored
            if t["method"] == method.prior and t["workload"] == workload.name and t["seed"] == task.seed
        ),
        key=lambda t: (t["peak_lr"] is None, t["peak_lr"] or 0.0, t["trial_id"]),
    )
    chosen = {
        t["prior_trial_id"]
        for t in stored
        if t["method"] == method.name and t["workload"] == workload.name and t["seed"] == task.seed
    } - {None}
    # the prior the method's earlier trials started from (in a run stored before this rule there may be several:
    # the best of them); none yet: the best by the first measure
    prior = _BEST_OF[tune_by[0]]([t for t in candidates if t["trial_id"] in chosen] if chosen else candidates)
    error = None
    if chosen and prior is None:
        error = f"{method.name}: its earlier trials' prior {sorted(chosen)[0]} is not in the run"
    elif prior is None or prior["status"] != "done":
        error = f"no finished {method.prior} trial of {workload.name} seed {task.seed} to refine"
    elif method.from_prior is not None:  # the trial is made from the prior's best trial (e.g. lr transfer)
        try:
            config = method.from_prior(task.config, prior, workload)
        except ValueError as err:
            error = f"{method.name} from trial {prior['trial_id']} failed: {err}"
    else:
        trace = artifacts / "traces" / f"{prior['trial_id']}.csv"
        path = artifacts / "schedules" / f"refined-{prior['trial_id']}.json"
        try:
            if not path.is_file():
                from ..refine import refine

                schedule = refine(trace, workload.optimizer_family)
                with atomic_path(path) as temporary:  # a crash never leaves a half-written schedule behind
                    schedule.save(temporary)
        except (ValueError, OSError) as err:
            error = f"refining the gradient norms of trial {prior['trial_id']} failed: {err}"
    if error is not None:
        record_failure(store, task, error)
        return None
    if method.from_prior is None:
        config = TrialConfig(task.config.peak_lr, task.config.optimizer, str(path), task.config.label)
    seconds, steps = _charge(candidates if method.prior_cost == "all" else [prior])
    return dataclasses.replace(
        task, config=config, prior_trial_id=prior["trial_id"], prior_seconds=seconds, prior_steps=steps
    )


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


def write_outputs(store_path: str | Path, run_id: str, out_dir: str | Path, say: Callable[[str], None]) -> None:
    """The report (``report.write_report``) and the terminal summary table."""
    from rich.console import Console

    from .report import summary_table, write_report

    write_report(store_path, run_id, out_dir)
    Console().print(summary_table(store_path, run_id))
    say(f"report: {Path(out_dir) / 'report.html'}")
