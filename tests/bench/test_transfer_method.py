"""The transfer method end to end: the peak-lr grid tuned at a quarter of the budget, the best lr moved to the full
budget by the ratio of bound-optimal base lrs (same-lr keeps it), every quarter-budget trial charged as prior cost."""

from __future__ import annotations

import pytest

from tuneless.bench.benchmark import run_benchmark
from tuneless.bench.catalog.methods import METHODS
from tuneless.bench.record.store import Store
from tuneless.bench.run.config import BenchConfig
from tuneless.bench.score.scoring import best_trials
from tuneless.refine import transfer_lr

from .conftest import EXAMPLE_REF


def test_transfer_tunes_at_a_quarter_and_moves_the_best_lr(tmp_path):
    store_path = tmp_path / "s.sqlite"
    config = BenchConfig("quick", [EXAMPLE_REF], ["transfer", "same-lr"], 2, {EXAMPLE_REF: {}})
    run_id = run_benchmark(store_path, config, workers=2, progress=False)
    with Store(store_path) as store:
        trials = store.trials(run_id)
    quarter = [t for t in trials if t.method == "linear-quarter"]
    moved = {t.seed: t for t in trials if t.method == "transfer"}
    same = {t.seed: t for t in trials if t.method == "same-lr"}
    assert {t.status for t in trials} == {"done"} and len(moved) == len(same) == 2
    full = moved[0].budget_steps
    assert {t.budget_steps for t in quarter} == {round(full / 4)}
    assert METHODS["transfer"].prior == "linear-quarter" and len(quarter) == 2 * len(set(t.peak_lr for t in quarter))
    best = best_trials(quarter, "steps")
    for seed in (0, 1):
        prior = best[(moved[seed].workload, "linear-quarter", seed)]
        own = [t for t in quarter if t.seed == seed]
        expected = transfer_lr(prior.peak_lr, prior.schedule, prior.budget_steps, moved[seed].schedule, full)
        assert moved[seed].peak_lr == pytest.approx(expected, rel=1e-12)
        assert expected == pytest.approx(prior.peak_lr / 2, rel=0.05)  # ~ sqrt(1/4) for linear decay
        assert same[seed].peak_lr == prior.peak_lr
        for trial in (moved[seed], same[seed]):
            assert trial.prior_trial_id == prior.trial_id
            assert trial.prior_seconds == pytest.approx(sum(t.train_seconds for t in own))
            assert trial.prior_steps == sum(t.budget_steps for t in own)
