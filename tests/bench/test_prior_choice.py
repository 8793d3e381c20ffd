"""Which prior trial a method built on one (refined, transfer, same-lr) starts from: the best by the run's first
tuning measure, chosen once per workload and seed."""

from __future__ import annotations

import types
from pathlib import Path

from tuneless.bench.benchmark import _attach_prior
from tuneless.bench.methods import METHODS, TrialConfig
from tuneless.bench.runner import TrialTask


class _Trials:
    """What ``_attach_prior`` reads of a store: the run's trials."""

    def __init__(self, rows):
        self.rows = rows

    def trials(self, run_id):
        return list(self.rows)


def _quarter(trial_id, lr, steps, final):
    return {
        "trial_id": trial_id, "method": "linear-quarter", "workload": "w", "seed": 0, "peak_lr": lr,
        "status": "done", "steps_to_target": steps, "final_metric": final, "higher_is_better": True,
        "train_seconds": 1.0, "budget_steps": 25, "schedule": "linear", "prior_trial_id": None,
    }  # fmt: skip


def _task(trial_id):
    config = TrialConfig(None, "sgd", "linear", label="same-lr")
    return TrialTask("r", trial_id, "w", {}, "same-lr", config, 0)


def test_the_prior_is_the_best_by_the_first_measure_and_stays_chosen():
    workload = types.SimpleNamespace(name="w", budget_steps=100)
    fast, good = _quarter("fast", 0.3, 10, 0.70), _quarter("good", 0.1, 20, 0.80)  # steps-best / final-best
    store = _Trials([fast, good])
    method = METHODS["same-lr"]
    assert _attach_prior(store, _task("t1"), workload, method, Path("."), ("steps",)).config.peak_lr == 0.3
    assert _attach_prior(store, _task("t1"), workload, method, Path("."), ("final", "steps")).config.peak_lr == 0.1
    # a trial of the method already started from 'good': later trials keep it, whatever the measures say now
    store.rows.append({**_quarter("t0", 0.1, None, None), "method": "same-lr", "prior_trial_id": "good"})
    task = _attach_prior(store, _task("t2"), workload, method, Path("."), ("steps",))
    assert task.prior_trial_id == "good" and task.config.peak_lr == 0.1
    assert task.prior_seconds == 2.0 and task.prior_steps == 50  # every quarter-budget trial is charged
