"""The self-tuning track's methods run one trial each through the benchmark, the pilot inside the trial."""

from __future__ import annotations

import pytest

from tuneless.auto.calibration import constants, load_rows
from tuneless.bench.benchmark import run_benchmark
from tuneless.bench.record.store import Store
from tuneless.bench.run.config import BenchConfig

TINY = f"{__file__.rsplit('/', 1)[0]}/tiny_workloads.py"
ONE_RUN = ["control", "auto", "auto-schedulefree", "prodigy-linear", "mechanic-freeze", "auto-mechanic"]


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
    assert steps["control"] == [0, 10, 20, 30, 40, 50, 60] == steps["mechanic-freeze"]
    assert steps["auto"] == [0, 20, 30, 40, 50, 60, 70] == steps["auto-schedulefree"] == steps["auto-mechanic"]
    assert lrs["auto"][-1] == 0.0  # linear decay to zero at the end of the run
    # the control runs at its family's calibrated lr (this workload is not in the table: every sgd row counts)
    assert trials["control"].peak_lr == pytest.approx(constants(load_rows(), "sgd").control_lr)
    # the self-tuning track's table names exactly the one-run methods, scores in [0, 1]
    from tuneless.bench.report.tables import markdown_tables

    text = markdown_tables(str(tmp_path / "s.sqlite"), run_id)
    section = text.split("### Self-tuning track", 1)[1].split("###", 1)[0]
    rows = [line.split(" | ") for line in section.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert sorted(row[0].strip("| ") for row in rows) == sorted(ONE_RUN)
    assert all(0 <= float(cell.strip(" |")) <= 1 for row in rows for cell in row[1:])


def test_mechanic_freeze_freezes_after_a_quarter_of_the_trial():
    torch = pytest.importorskip("torch")
    from tuneless.bench.catalog.methods import METHODS
    from tuneless.bench.catalog.optimizers import make_optimizer
    from tuneless.bench.catalog.workloads import resolve_workload

    for name, base in (("logreg-iris", torch.optim.SGD), ("lm-stdlib", torch.optim.AdamW)):
        workload = resolve_workload(name, None)
        (config,) = METHODS["mechanic-freeze"].trials(workload)
        optimizer = make_optimizer(config.optimizer, [torch.nn.Parameter(torch.zeros(3))], 1.0, 300)
        assert (optimizer.freeze_after, optimizer.restart_factor, type(optimizer.base)) == (75, 10.0, base)
        assert config.peak_lr == 1.0 and config.schedule == "warmup(linear,fraction=0.05)"
        assert METHODS["auto-mechanic"].trials(workload)[0].optimizer == config.optimizer  # the same, seeded


def test_a_mechanic_specs_arguments_are_the_base_optimizers_but_its_own_options():
    torch = pytest.importorskip("torch")
    from tuneless.bench.catalog.optimizers import make_optimizer

    spec = "mechanic_adamw(weight_decay=0.1,eps=1e-6,restart_factor=10.0,freeze_fraction=0.5,s_init=1e-6)"
    optimizer = make_optimizer(spec, [torch.nn.Parameter(torch.zeros(3))], 0.3, 40)
    group = optimizer.base.param_groups[0]
    assert (group["weight_decay"], group["eps"], group["lr"]) == (0.1, 1e-6, 0.3)  # AdamW's
    assert (optimizer.weight_decay, optimizer.eps) == (0.01, 1e-8)  # Mechanic's lambda and epsilon: the paper's
    assert (optimizer.restart_factor, optimizer.freeze_after, optimizer.s_init) == (10.0, 20, 1e-6)


def test_a_resumed_run_takes_new_methods_and_reruns_nothing(tmp_path, capsys):
    from tuneless.cli import main

    store = tmp_path / "s.sqlite"
    config = BenchConfig("quick", [f"{TINY}:ShortDiabetes"], ["control"], 1, {})
    run_id = run_benchmark(store, config, workers=1, progress=False)
    with Store(store) as opened:
        (first,) = opened.trials(run_id)
    options = ["bench", "--resume", "--store", str(store), "--workers", "1", "--no-progress"]
    assert main([*options, "--methods", "control", "mechanic-freeze"]) == 0
    assert f"added to run {run_id}: mechanic-freeze" in capsys.readouterr().err
    with Store(store) as opened:
        trials = {t.method: t for t in opened.trials(run_id)}
        stored = opened.run(run_id).config
    assert sorted(trials) == ["control", "mechanic-freeze"] and trials["control"] == first  # not run again
    assert stored.methods == ["control", "mechanic-freeze"] and "mechanic-freeze" in stored.method_info
    # dropping a method of the run is still refused
    assert main([*options, "--methods", "mechanic-freeze"]) == 2
    assert "was planned with --methods control mechanic-freeze" in capsys.readouterr().err


def test_a_mechanic_spec_takes_freeze_after_too():
    torch = pytest.importorskip("torch")
    from tuneless.bench.catalog.optimizers import make_optimizer

    optimizer = make_optimizer("mechanic_sgd(freeze_after=5)", [torch.nn.Parameter(torch.zeros(3))], 1.0, 100)
    assert optimizer.freeze_after == 5
