"""Which prior trial a method built on one (refined, transfer, same-lr) starts from: the best by the run's first
tuning measure, chosen once per workload and seed."""

from __future__ import annotations

import types
from dataclasses import asdict, replace
from pathlib import Path

import pytest

from tuneless.bench.catalog.methods import METHODS, TrialConfig
from tuneless.bench.run.prior import attach_prior as _attach_prior
from tuneless.bench.run.runner import TrialTask

from .trial_rows import trial_row


class _Trials:
    """What ``_attach_prior`` reads of a store: the run's trials."""

    def __init__(self, rows):
        self.rows = rows

    def trials(self, run_id):
        return list(self.rows)


def _quarter(trial_id, lr, steps, final):
    return trial_row(
        trial_id=trial_id, method="linear-quarter", workload="w", seed=0, peak_lr=lr, status="done",
        steps_to_target=steps, final_metric=final, higher_is_better=True, train_seconds=1.0, budget_steps=25,
        schedule="linear", prior_trial_id=None,
    )  # fmt: skip


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
    store.rows.append(replace(_quarter("t0", 0.1, None, None), method="same-lr", prior_trial_id="good"))
    task = _attach_prior(store, _task("t2"), workload, method, Path("."), ("steps",))
    assert task.prior_trial_id == "good" and task.config.peak_lr == 0.1
    assert task.prior_seconds == 2.0 and task.prior_steps == 50  # every quarter-budget trial is charged


def test_a_missing_or_several_recorded_priors(monkeypatch):
    workload = types.SimpleNamespace(name="w", budget_steps=100)
    fast, good = _quarter("fast", 0.3, 10, 0.70), _quarter("good", 0.1, 20, 0.80)
    method = METHODS["same-lr"]
    earlier = replace(_quarter("t0", 0.1, None, None), method="same-lr")
    # two earlier trials on two priors (a run stored before the rule): the best of those two, never a third
    third = _quarter("third", 0.2, 5, 0.60)  # the steps-best of all, but no earlier trial started from it
    store = _Trials(
        [fast, good, third, replace(earlier, prior_trial_id="fast"), replace(earlier, prior_trial_id="good")]
    )
    assert _attach_prior(store, _task("t3"), workload, method, Path("."), ("steps",)).prior_trial_id == "fast"
    # the recorded prior is gone from the run: the trial fails, naming it
    failures = []
    monkeypatch.setattr("tuneless.bench.run.prior.record_failure", lambda store, task, error: failures.append(error))
    store = _Trials([fast, replace(earlier, prior_trial_id="lost")])
    assert _attach_prior(store, _task("t4"), workload, method, Path("."), ("steps",)) is None
    assert failures == ["same-lr: its earlier trials' prior lost is not in the run"]


def test_resumed_runs_are_charged_for_every_prior_trial_and_record_their_measures(tmp_path):
    from tuneless.bench.benchmark import run_benchmark
    from tuneless.bench.record.store import Store
    from tuneless.bench.run.config import BenchConfig
    from tuneless.bench.run.prior import refresh_prior_charges

    from .conftest import EXAMPLE_REF

    store_path = tmp_path / "s.sqlite"
    config = BenchConfig("quick", [EXAMPLE_REF], ["same-lr"], 1, {EXAMPLE_REF: {}}, lr_resolution=None)
    run_id = run_benchmark(store_path, config, workers=1, progress=False, say=lambda _: None)
    with Store(store_path) as store:
        quarter = [t for t in store.trials(run_id) if t.method == "linear-quarter"]
        (same,) = [t for t in store.trials(run_id) if t.method == "same-lr"]
        assert same.prior_steps == sum(t.budget_steps for t in quarter)  # the whole tuning stage
        # a quarter-budget trial added after the same-lr trial ran (as a resume under other rules does)
        store.start_trial({**asdict(quarter[0]), "trial_id": "late", "peak_lr": 1.0, "status": "running"})
        store.finish_trial("late", status="done", train_seconds=0.5)
        refresh_prior_charges(store, run_id, [METHODS["same-lr"]])
        again = store.trial(same.trial_id)
        assert again.prior_steps == same.prior_steps + quarter[0].budget_steps
        assert again.prior_seconds == pytest.approx(same.prior_seconds + 0.5)
        assert again.finished == same.finished  # the trial's own record is untouched
