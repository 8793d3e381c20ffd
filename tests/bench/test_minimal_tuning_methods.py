"""Mechanic, the NAdamW list and Prodigy run through the benchmark with their real trial counts."""

from __future__ import annotations

import pytest

from tuneless.bench.benchmark import run_benchmark
from tuneless.bench.catalog.methods import METHODS
from tuneless.bench.catalog.optimizers import make_optimizer
from tuneless.bench.record.store import Store
from tuneless.bench.run.config import BenchConfig
from tuneless.bench.score.scoring import score_trials
from tuneless.hparams import nadamw_list

TINY = f"{__file__.rsplit('/', 1)[0]}/tiny_workloads.py"
COUNTS = {"mechanic-linear": 1, "mechanic-cosine": 1, "nadamw-1": 1, "nadamw-5": 5, "prodigy": 1, "linear": 2}


def test_fixed_list_methods_run_their_own_number_of_trials(tmp_path):
    pytest.importorskip("prodigyopt", reason="the prodigy method needs prodigyopt (tuneless[bench])")
    config = BenchConfig("quick", [f"{TINY}:ShortDiabetes"], list(COUNTS), 1, {})
    run_id = run_benchmark(tmp_path / "s.sqlite", config, workers=2, progress=False)
    with Store(tmp_path / "s.sqlite") as store:
        trials = store.trials(run_id)
    per_method = {m: sum(t.method == m for t in trials) for m in COUNTS}
    assert per_method == COUNTS  # linear: the ShortDiabetes grid has 2 peak lrs
    assert {t.status for t in trials} == {"done"}
    nadamw = sorted((t for t in trials if t.method == "nadamw-5"), key=lambda t: t.peak_lr)
    assert sorted(p.lr for p in nadamw_list(5)) == [t.peak_lr for t in nadamw]
    assert all(t.optimizer.startswith("mechanic_sgd") for t in trials if t.method.startswith("mechanic"))
    scores = score_trials(trials)
    assert scores.trials_per_workload["nadamw-5"] == 5 and scores.trials_per_workload["mechanic-linear"] == 1


def test_optimizer_specs_build_the_documented_optimizers():
    torch = pytest.importorskip("torch")
    from tuneless.torch.mechanic import Mechanic
    from tuneless.torch.nadamw import NAdamW

    p = [torch.nn.Parameter(torch.zeros(3))]
    mech = make_optimizer("mechanic_adamw(weight_decay=0.01)", p, lr=1.0, total_steps=10)
    assert isinstance(mech, Mechanic) and mech.param_groups[0]["lr"] == 1.0
    point = nadamw_list(1)[0]
    (config,) = METHODS["nadamw-1"].trials(None)
    opt = make_optimizer(config.optimizer, p, lr=config.peak_lr, total_steps=10)
    assert isinstance(opt, NAdamW)
    assert opt.param_groups[0]["betas"] == (point.beta1, point.beta2)
    assert opt.param_groups[0]["weight_decay"] == point.weight_decay
    assert config.schedule == f"warmup(cosine,fraction={point.warmup_fraction!r})"
