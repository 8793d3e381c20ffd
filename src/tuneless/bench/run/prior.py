"""Methods built on a prior method's trials (refinement, lr transfer): choosing the prior trial, making the
trial from it, and charging its cost."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from ...output_files import atomic_path
from ..catalog.methods import Method, TrialConfig
from ..catalog.workload import Workload
from ..record.rows import Trial
from ..record.store import Store
from ..score.scoring import best_final_trials, best_trials
from .runner import TrialTask, record_failure

__all__ = ["BEST_OF", "attach_prior", "refresh_prior_charges"]


def _best_by_steps(trials: Sequence[Trial]) -> Trial | None:
    """The scoring's best trial among one method's trials of one workload and seed (None: none finished)."""
    return next(iter(best_trials(trials, "steps").values()), None)


def _best_by_final(trials: Sequence[Trial]) -> Trial | None:
    """The trial with the best final metric among one method's trials of one workload and seed (None: none
    finished)."""
    return next(iter(best_final_trials(trials).values()), None)


BEST_OF = {"steps": _best_by_steps, "final": _best_by_final}  # lr_bracketing.TUNING_MEASURES


def _charge(trials: Sequence[Trial]) -> tuple[float, int]:
    """The train seconds and steps of the prior trials a method built on them is charged for."""
    return sum(t.train_seconds or 0.0 for t in trials), sum(t.budget_steps or 0 for t in trials)


def refresh_prior_charges(store: Store, run_id: str, methods: Sequence[Method]) -> None:
    """Bring the stored charges of methods charged for all their prior's trials up to date: a run resumed under
    other tuning rules may have added prior trials after such a method's trials ran (a no-op otherwise)."""
    trials = store.trials(run_id)
    for method in methods:
        if method.prior is None or method.prior_cost != "all":
            continue
        for trial in trials:
            if trial.method != method.name or trial.status != "done" or trial.prior_trial_id is None:
                continue
            key = (trial.workload, trial.seed)
            candidates = [t for t in trials if t.method == method.prior and (t.workload, t.seed) == key]
            seconds, steps = _charge(candidates)
            if (trial.prior_seconds, trial.prior_steps) != (seconds, steps):
                store.finish_trial(trial.trial_id, prior_seconds=seconds, prior_steps=steps, finished=trial.finished)


def attach_prior(
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
        (t for t in stored if t.method == method.prior and t.workload == workload.name and t.seed == task.seed),
        key=lambda t: (t.peak_lr is None, t.peak_lr or 0.0, t.trial_id),
    )
    chosen = {
        t.prior_trial_id
        for t in stored
        if t.method == method.name and t.workload == workload.name and t.seed == task.seed
    } - {None}
    # the prior the method's earlier trials started from (several, from trials made before the choice was kept per
    # workload and seed: the best of them; the trials stay as they ran); none yet: the best by the first measure
    prior = BEST_OF[tune_by[0]]([t for t in candidates if t.trial_id in chosen] if chosen else candidates)
    error = None
    if chosen and prior is None:
        error = f"{method.name}: its earlier trials' prior {sorted(chosen)[0]} is not in the run"
    elif prior is None or prior.status != "done":
        error = f"no finished {method.prior} trial of {workload.name} seed {task.seed} to refine"
    elif method.from_prior is not None:  # the trial is made from the prior's best trial (e.g. lr transfer)
        try:
            config = method.from_prior(task.config, prior, workload)
        except ValueError as err:
            error = f"{method.name} from trial {prior.trial_id} failed: {err}"
    else:
        try:
            path = _refined_schedule(prior.trial_id, workload, artifacts)
        except (ValueError, OSError) as err:
            error = f"refining the gradient norms of trial {prior.trial_id} failed: {err}"
    if error is not None:
        record_failure(store, task, error)
        return None
    if method.from_prior is None:
        config = TrialConfig(task.config.peak_lr, task.config.optimizer, str(path), task.config.label)
    seconds, steps = _charge(candidates if method.prior_cost == "all" else [prior])
    return dataclasses.replace(
        task, config=config, prior_trial_id=prior.trial_id, prior_seconds=seconds, prior_steps=steps
    )


def _refined_schedule(prior_id: str, workload: Workload, artifacts: Path) -> Path:
    """The schedule refined from the gradient norms of trial ``prior_id`` (made once, then reused)."""
    trace = artifacts / "traces" / f"{prior_id}.csv"
    path = artifacts / "schedules" / f"refined-{prior_id}.json"
    if not path.is_file():
        from ...refine import refine

        schedule = refine(trace, workload.optimizer_family)
        with atomic_path(path) as temporary:  # a crash never leaves a half-written schedule behind
            schedule.save(temporary)
    return path
