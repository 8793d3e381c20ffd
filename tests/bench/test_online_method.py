"""The refined-online method: the runner uses the method's own scheduler (OnlineRefinedLR), one run per trial."""

from __future__ import annotations

from tuneless.bench.benchmark import run_benchmark
from tuneless.bench.catalog.methods import METHODS
from tuneless.bench.catalog.suites import SUITES
from tuneless.bench.record.store import Store
from tuneless.bench.run.config import BenchConfig

TINY = f"{__file__.rsplit('/', 1)[0]}/tiny_workloads.py"


def test_refined_online_runs_its_own_scheduler_without_a_prior(tmp_path):
    store_path = tmp_path / "s.sqlite"
    workload = f"{TINY}:ShortDiabetes"
    config = BenchConfig("quick", [workload], ["linear", "refined-online"], 1, {workload: {}})
    run_id = run_benchmark(store_path, config, workers=1, progress=False)
    with Store(store_path) as store:
        trials = store.trials(run_id)
        lrs = {(t.method, t.peak_lr): [r.lr for r in store.measurements(t.trial_id)] for t in trials}
        online = [t for t in trials if t.method == "refined-online"]
    assert online and {t.status for t in online} == {"done"}
    assert all(t.prior_trial_id is None and t.prior_steps == 0 for t in online)  # no prior run
    for (method, peak_lr), seen in lrs.items():
        if method == "refined-online":
            assert seen[-1] == 0.0 and max(seen) <= peak_lr
            assert seen != lrs[("linear", peak_lr)]  # re-planned from the norms: not warmup + linear decay


def test_the_suites_run_the_default_online_method_not_the_variants():
    assert {"refined-online-constant", "refined-online-trend", "refined-online-stretch"} <= set(METHODS)
    for suite in SUITES.values():  # long runs the claims' three methods only (its 2-hour budget)
        assert ("refined-online" in suite.methods) == (suite.name != "long")
        assert not [m for m in suite.methods if m.startswith("refined-online-")]
