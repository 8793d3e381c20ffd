"""A run's plan: its workloads prepared (resolved, targets fixed, data hashed), its trials, their order, and the
rounds of method-fair tuning (``lr_bracketing``)."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..catalog.methods import Method, TrialConfig, resolve_methods
from ..catalog.optimizers import check_optimizer_spec
from ..catalog.suites import get_suite
from ..catalog.targets import load_targets, target_for
from ..catalog.tuning import check_tuning_measures
from ..catalog.workload import Workload
from ..catalog.workloads import resolve_workload
from ..record.rows import Trial
from ..record.store import Store
from .config import BenchConfig
from .lr_bracketing import next_round
from .prior import BEST_OF
from .runner import TrialTask, trial_id

__all__ = [
    "PlannedTrial",
    "PreparedWorkload",
    "bracketing_trials",
    "longest_first",
    "method_levels",
    "plan_trials",
    "prepare_workloads",
    "resolve_workloads",
    "check_plan",
]


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


def resolve_workloads(config: BenchConfig) -> dict[str, Workload]:
    """The run's workload references resolved with their overrides (each once: the result goes on to
    ``prepare_workloads``)."""
    return {ref: resolve_workload(ref, config.overrides.get(ref, {})) for ref in config.workloads}


def check_plan(config: BenchConfig) -> dict[str, Workload]:
    """The run's methods and workloads resolve, and every optimizer a method builds for a workload is known (before
    the store is created or a trial runs); returns the resolved workloads (``resolve_workloads``)."""
    methods = resolve_methods(config.methods)
    workloads = resolve_workloads(config)
    for workload in workloads.values():
        for method in methods:  # the optimizers a method builds from the workload's (e.g. mechanic_<optimizer>)
            for trial in method.trials(workload):
                check_optimizer_spec(trial.optimizer, f"method {method.name!r} on workload {workload.name!r}")
    return workloads


def prepare_workloads(
    config: BenchConfig, say: Callable[[str], None], resolved: Mapping[str, Workload] | None = None
) -> tuple[list[PreparedWorkload], BenchConfig]:
    """Resolve the run's workloads (unless ``resolved`` has them already), skip the unavailable ones (with the
    reason), fix each one's target and record the hash of its data. Returns them and a copy of ``config`` with
    the targets in its overrides and the hashes in ``data_hashes`` (``config`` itself is not changed)."""
    targets = load_targets(config.suite) if config.use_targets else {}
    targets_required = get_suite(config.suite).targets_required
    resolved = resolved if resolved is not None else resolve_workloads(config)
    prepared = []
    recorded = config.data_hashes or {}
    hashes: dict[str, str] = {}
    all_overrides = dict(config.overrides)
    for ref in config.workloads:
        workload = resolved[ref]
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
        overrides = dict(config.overrides.get(ref, {}))
        if not config.use_targets:
            overrides["target"] = None
        elif "target" not in overrides:
            overrides["target"] = _target(config.suite, workload, data_hash, targets, targets_required, say)
        all_overrides[ref] = overrides
        prepared.append(PreparedWorkload(ref, overrides, workload.with_overrides(target=overrides["target"])))
    if not prepared:
        raise ValueError("no workload can run here (see the messages above)")
    return prepared, dataclasses.replace(config, overrides=all_overrides, data_hashes={**recorded, **hashes})


def _target(
    suite: str,
    workload: Workload,
    data_hash: str,
    targets: Mapping[str, Mapping[str, Any]],
    required: bool,
    say: Callable[[str], None],
) -> float | None:
    """The target of a workload whose overrides give none: its own, else the suite's (``None``: unset)."""
    if workload.target is not None:
        return workload.target
    if workload.name in targets or required:
        target = target_for(suite, workload.name, data_hash, targets)
        set_at = targets.get(workload.name, {}).get("budget_steps")
        if set_at is not None and set_at != workload.budget_steps:
            say(
                f"workload {workload.name}: its target was set on {set_at}-step runs and this run trains "
                f"{workload.budget_steps} steps: time to target measures reaching the {set_at}-step level "
                f"early; compare final metrics (tuneless bench set-targets --suite {suite} sets them "
                "at this budget)"
            )
        return target
    say(
        f"workload {workload.name}: target unset (suite {suite} has none yet): every time to "
        f"target is a miss; compare final metrics. Set them: tuneless bench set-targets --suite "
        f"{suite}"
    )
    return None


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


def longest_first(planned_trials: Sequence[PlannedTrial], stored: Sequence[Trial]) -> list[PlannedTrial]:
    """The trials in decreasing order of expected duration, so that a batch (a tuning round waits for all of its
    trials) does not end with one long trial running while the other workers idle (longest processing time
    first). Expected duration: the median wall seconds per step of the run's finished trials on the trial's
    workload, times its steps. Workloads with none finished yet (a new run's first batch) go first, their trials
    interleaved one workload at a time (round robin, in plan order; within a workload full-budget trials before
    shorter ones), so that a long workload's trials are spread over the batch instead of bunched at its end; equal
    expectations keep the plan's order. Only the order changes: each trial's result does not depend on it."""
    per_step: dict[str, list[float]] = {}
    for t in stored:
        if t.status == "done" and t.finished and t.started and t.budget_steps:
            per_step.setdefault(t.workload, []).append((t.finished - t.started) / t.budget_steps)

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
    best_of = [BEST_OF[measure] for measure in check_tuning_measures(tune_by)]
    finished: dict[tuple[str, str, int], dict[float, Trial]] = {}
    for trial in store.trials(run_id):
        if trial.status in ("done", "failed") and trial.peak_lr is not None:
            key = (trial.workload, trial.method, trial.seed)
            finished.setdefault(key, {})[trial.peak_lr] = trial
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
