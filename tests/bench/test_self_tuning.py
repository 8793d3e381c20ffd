"""The self-tuning track's methods run one trial each through the benchmark, the pilot inside the trial."""

from __future__ import annotations

import pytest

from tuneless.auto.calibration import constants, load_rows
from tuneless.bench.benchmark import run_benchmark
from tuneless.bench.record.store import Store
from tuneless.bench.run.config import BenchConfig

TINY = f"{__file__.rsplit('/', 1)[0]}/tiny_workloads.py"
ONE_RUN = ["control", "auto", "auto-schedulefree", "prodigy-linear"]


def test_one_run_methods_through_the_benchmark(tmp_path):
    pytest.importorskip("prodigyopt", reason="prodigy-linear needs prodigyopt (tuneless[bench])")
    config = BenchConfig("quick", [f"{TINY}:ShortDiabetes"], ONE_RUN, 1, {})
    run_id = run_benchmark(tmp_path / "s.sqlite", config, workers=2, progress=False)
    with Store(tmp_path / "s.sqlite") as store:
        trials = {t.method: t for t in store.trials(run_id)}
        steps = {m: [row.step for row in store.measurements(t.trial_id)] for m, t in trials.items()}
        lrs = {m: [row.lr for row in store.measurements(t.trial_id)] for m, t in trials.items()}
    assert sorted(trials) == sorted(ONE_RUN)
    assert {t.status for t in trials.values()} == {"done"}, [t.error for t in trials.values()]
    # 60 steps, evaluated every 10; the pilot of AutoLR is 10 steps (its minimum) before them, and counts
    assert steps["control"] == [0, 10, 20, 30, 40, 50, 60]
    assert steps["auto"] == [0, 20, 30, 40, 50, 60, 70] == steps["auto-schedulefree"]
    assert lrs["auto"][-1] == 0.0  # linear decay to zero at the end of the run
    # the control runs at its family's calibrated lr (this workload is not in the table: every sgd row counts)
    assert trials["control"].peak_lr == pytest.approx(constants(load_rows(), "sgd").control_lr)
