"""The refined method end to end: gradient norms recorded in every linear-decay trial, the best one per seed
refined, the refined schedule re-tuned on the same grid with the prior run's cost recorded."""

from __future__ import annotations

import pytest

from tuneless.bench.benchmark import run_benchmark
from tuneless.bench.record.store import Store
from tuneless.bench.run.config import BenchConfig, artifacts_dir
from tuneless.bench.score.scoring import best_trials

from .conftest import EXAMPLE_REF

pytest.importorskip("tuneless.torch.recorder")
pytest.importorskip("tuneless.refine", reason="refine() not available").refine  # noqa: B018


def test_refined_builds_on_the_best_linear_trial_of_each_seed(tmp_path):
    store_path = tmp_path / "s.sqlite"
    config = BenchConfig("quick", [EXAMPLE_REF], ["refined"], 2, {EXAMPLE_REF: {}})
    run_id = run_benchmark(store_path, config, workers=2, progress=False)
    with Store(store_path) as store:
        trials = store.trials(run_id)
    linear = [t for t in trials if t.method == "linear"]
    refined = [t for t in trials if t.method == "refined"]
    assert len(linear) == len(refined) == 4 * 2  # the same peak-lr grid, both seeds
    assert {t.status for t in trials} == {"done"}
    traces = artifacts_dir(store_path, run_id) / "traces"
    assert {p.stem for p in traces.glob("*.csv")} == {t.trial_id for t in linear}  # every linear trial
    best = best_trials(linear, "steps")
    for trial in refined:
        prior = best[("diabetes", "linear", trial.seed)]
        assert trial.prior_trial_id == prior.trial_id
        assert trial.prior_seconds == prior.train_seconds and trial.prior_steps == prior.budget_steps
        assert trial.schedule.endswith(f"refined-{prior.trial_id}.json")
    from tuneless.schedules import load_schedule

    table = load_schedule(refined[0].schedule).array  # refine(): s / max(s), last step 0
    assert table.max() == pytest.approx(1.0) and table[-1] == 0.0 and len(table) == 200  # one value per step
