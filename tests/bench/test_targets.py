"""The target procedure on a hand-made store: best cosine run per seed, its metric at 3/4 budget, median."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tuneless.bench.catalog.targets import target_for
from tuneless.bench.record.store import Store
from tuneless.bench.score.targets import compute_targets


def _add(store, tid, seed, lr, final, curve, method="cosine", higher=False):
    store.start_trial(
        {
            "trial_id": tid,
            "run_id": "r",
            "workload": "w",
            "method": method,
            "peak_lr": lr,
            "seed": seed,
            "metric_name": "loss",
            "higher_is_better": int(higher),
            "budget_steps": 100,
        }
    )
    for step, value in curve.items():
        store.add_measurement({"trial_id": tid, "step": step, "metric": value})
    store.finish_trial(tid, status="done", final_metric=final)


def test_median_over_seeds_of_the_best_runs_value_at_three_quarters(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        # seed 0: lr 0.1 is best at the end (final 0.2); its value at step 75 is 0.5
        _add(store, "a", 0, 0.1, 0.2, {0: 9.0, 50: 1.0, 75: 0.5, 100: 0.2})
        _add(store, "b", 0, 1.0, 0.3, {0: 9.0, 50: 0.4, 75: 0.35, 100: 0.3})
        # seed 1: evaluations every 20 steps: the first at or after 75 is step 80
        _add(store, "c", 1, 0.1, 0.1, {0: 9.0, 60: 0.9, 80: 0.7, 100: 0.1})
        # seed 2: value 0.6 at 75
        _add(store, "d", 2, 0.1, 0.25, {0: 9.0, 75: 0.6, 100: 0.25})
        _add(store, "e", 2, 0.1, 0.0, {0: 9.0, 75: 0.0, 100: 0.0}, method="linear")  # not a cosine run
        store.start_trial(
            {
                "trial_id": "f",
                "run_id": "r",
                "workload": "w",
                "method": "cosine",
                "peak_lr": 9.0,
                "seed": 2,
                "budget_steps": 100,
            }
        )
        store.finish_trial("f", status="failed", error="diverged")
        targets = compute_targets(store, "r", {"w": "abc"})
    assert targets["w"]["target"] == 0.6  # median of 0.5, 0.7, 0.6
    assert [s["value"] for s in targets["w"]["per_seed"]] == [0.5, 0.7, 0.6]
    assert targets["w"]["data_hash"] == "abc"


def test_missing_target_and_changed_data_hash():
    with pytest.raises(ValueError, match="has no target .* set-targets --suite quick"):
        target_for("quick", "w", "h", {})
    with pytest.warns(UserWarning, match="data hash new differs from old"):
        assert target_for("quick", "w", "new", {"w": {"target": 0.5, "data_hash": "old"}}) == 0.5


def test_set_targets_of_one_workload_keeps_the_others_provenance(tmp_path, monkeypatch, capsys):
    import json
    import shutil

    from tuneless.bench.catalog import targets as targets_module
    from tuneless.cli import main

    shipped = targets_module.TARGETS_DIR / "quick.json"
    monkeypatch.setattr(targets_module, "TARGETS_DIR", tmp_path / "targets")
    (tmp_path / "targets").mkdir()
    shutil.copy(shipped, tmp_path / "targets" / "quick.json")
    before = json.loads(shipped.read_text())["workloads"]
    store = tmp_path / "s.sqlite"
    argv = ["bench", "set-targets", "--workload", "logreg-wine", "--seeds", "1", "--workers", "1", "--no-progress"]
    assert main([*argv, "--store", str(store)]) == 0
    after = json.loads((tmp_path / "targets" / "quick.json").read_text())["workloads"]
    assert sorted(after) == sorted(before)
    assert all(after[name] == before[name] for name in before if name != "logreg-wine")  # untouched, provenance too
    with Store(store, read_only=True) as read:
        run_id = read.latest_run_id()
    wine = after["logreg-wine"]
    assert wine["run_id"] == run_id != before["logreg-wine"]["run_id"] and [s["seed"] for s in wine["per_seed"]] == [0]
    assert wine["procedure"].startswith("median over seeds") and wine["set_on"] > before["logreg-wine"]["set_on"]
    assert json.loads(shipped.read_text())["workloads"] == before  # the package's file was never written


def test_set_targets_of_a_workload_outside_the_suite_needs_output(tmp_path, capsys):
    from tuneless.cli import main

    tiny = f"{__file__.rsplit('/', 1)[0]}/tiny_workloads.py:ShortDiabetes"
    argv = ["bench", "set-targets", "--workload", tiny, "--store", str(tmp_path / "s.sqlite"), "--no-progress"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "not in the quick suite; give --output FILE.json" in err and not (tmp_path / "s.sqlite").exists()


def test_a_target_set_at_another_budget_is_named_when_the_run_starts():
    from tuneless.bench.run.config import BenchConfig
    from tuneless.bench.run.plan import prepare_workloads

    said = []
    # the full suite's LM target was set on 600-step runs; this run trains 2400 steps
    prepare_workloads(
        BenchConfig("full", ["lm-stdlib"], ["linear"], 1, {"lm-stdlib": {"budget_steps": 2400}}), said.append
    )
    assert said == [
        "workload lm-stdlib: its target was set on 600-step runs and this run trains 2400 steps: time to target "
        "measures reaching the 600-step level early; compare final metrics (tuneless bench set-targets --suite full "
        "sets them at this budget)"
    ]
    said.clear()
    prepare_workloads(BenchConfig.from_options("quick", ["logreg-wine"], ["linear"], 1), said.append)
    prepare_workloads(BenchConfig.from_options("long", ["lm-stdlib"], ["linear"], 1), said.append)
    assert said == []  # set on the suites' own 300-step and 2400-step runs


def test_targets_from_an_existing_run_match_the_procedures_own_run(tmp_path, capsys):
    import json

    from tuneless.cli import main

    tiny = f"{__file__.rsplit('/', 1)[0]}/tiny_workloads.py:ShortDiabetes"
    run = str(tmp_path / "run.sqlite")
    bench = ["bench", "--workload", tiny, "--methods", "cosine", "linear", "--seeds", "3", "--workers", "1"]
    assert (
        main([*bench, "--store", run, "--out", str(tmp_path / "out"), "--no-progress", "--lr-resolution", "1.2"]) == 0
    )
    with Store(run, read_only=True) as store:  # bracketing added cosine trials off the grid
        assert {t.peak_lr for t in store.trials(store.latest_run_id()) if t.method == "cosine"} > {0.01, 0.03}
    common = ["bench", "set-targets", "--workload", tiny, "--workers", "1", "--no-progress"]
    own_store, own_json, from_json = str(tmp_path / "own.sqlite"), tmp_path / "own.json", tmp_path / "from.json"
    assert main([*common, "--seeds", "3", "--store", own_store, "--output", str(own_json)]) == 0
    assert main([*common, "--from-store", run, "--output", str(from_json)]) == 0  # default: all 3 of the run's seeds
    own, other = (json.loads(path.read_text())["workloads"]["diabetes-short"] for path in (own_json, from_json))
    assert other["per_seed"] == own["per_seed"] and other["target"] == own["target"]  # the grid's trials only
    assert other["procedure"].endswith("(applied to the grid trials of seeds 0-2 of that benchmark run, in run.sqlite: "
                                       "set-targets --from-store)")  # fmt: skip
    # fewer seeds: the first ones; the file it writes again keeps its other workloads
    document = json.loads(from_json.read_text())
    document["workloads"]["other"] = {"target": 1.0}
    from_json.write_text(json.dumps(document))
    assert main([*common, "--seeds", "2", "--from-store", run, "--output", str(from_json)]) == 0
    after = json.loads(from_json.read_text())["workloads"]
    assert [s["seed"] for s in after["diabetes-short"]["per_seed"]] == [0, 1] and after["other"] == {"target": 1.0}
    capsys.readouterr()
    # a run that lacks a grid trial (a 4th seed), one of another suite, --run-id without --from-store, --output
    # onto the store it reads: one line each, exit 2, nothing written
    bad = tmp_path / "x.json"
    assert main([*common, "--seeds", "4", "--from-store", run, "--output", str(bad)]) == 2
    assert "has 3 seeds, not 4 (--seeds)" in capsys.readouterr().err
    assert main([*common, "--suite", "full", "--from-store", run, "--output", str(bad)]) == 2
    assert "is of the quick suite, not full" in capsys.readouterr().err
    assert main([*common, "--run-id", "r", "--store", str(tmp_path / "s.sqlite"), "--output", str(bad)]) == 2
    assert "--run-id names the run of --from-store" in capsys.readouterr().err
    assert main([*common, "--from-store", run, "--output", run]) == 2
    assert "--from-store" in capsys.readouterr().err and Store(run, read_only=True).latest_run_id()
    assert not bad.exists()
    # a diverged (failed) grid trial is part of the grid, as in set-targets' own run
    with Store(run) as store:
        (trial,) = [
            t for t in store.trials(store.latest_run_id()) if t.method == "cosine" and t.seed == 0 and t.peak_lr == 0.03
        ]
        store.finish_trial(trial.trial_id, status="failed", final_metric=None)  # fmt: skip
    assert main([*common, "--from-store", run, "--output", str(bad)]) == 0
    assert json.loads(bad.read_text())["workloads"]["diabetes-short"]["per_seed"][0]["peak_lr"] == 0.01
    # a seed whose grid trials all failed is named; a grid trial still running is named as such
    with Store(run) as store:
        for trial in store.trials(store.latest_run_id()):
            if trial.method == "cosine" and trial.seed == 1:
                store.finish_trial(trial.trial_id, status="failed", final_metric=None)
    capsys.readouterr()
    assert main([*common, "--from-store", run, "--output", str(bad)]) == 0
    printed = capsys.readouterr().out
    assert "note: every cosine grid trial of seed 1 failed: the target is the median of the other 2" in printed
    entry = json.loads(bad.read_text())["workloads"]["diabetes-short"]
    assert [s["seed"] for s in entry["per_seed"]] == [0, 2]
    assert entry["target"] == (own["per_seed"][0]["value"] + own["per_seed"][2]["value"]) / 2
    with Store(run) as store:
        store.connection.execute(
            "UPDATE trials SET status = 'running' WHERE method = 'cosine' AND seed = 2 AND peak_lr = 0.03"
        )
        store.connection.commit()
    assert main([*common, "--from-store", run, "--output", str(bad)]) == 2
    assert "is still running cosine trials of diabetes-short at (seed, peak lr) [(2, 0.03)]" in capsys.readouterr().err
    assert main([*common, "--seeds", "1", "--from-store", run, "--output", str(bad)]) == 0
    entry = json.loads(bad.read_text())["workloads"]["diabetes-short"]
    assert entry["procedure"].endswith("of seed 0 of that benchmark run, in run.sqlite: set-targets --from-store)")


def test_targets_name_the_data_the_run_recorded(tmp_path, capsys):
    """A run records the hash of each workload's data when it starts; targets set from it later name that data,
    not the data of the machine that sets them (the stdlib LM's corpus changes with the Python version)."""
    import json

    from tuneless.cli import main

    tiny = f"{__file__.rsplit('/', 1)[0]}/tiny_workloads.py:ShortDiabetes"
    run = str(tmp_path / "run.sqlite")
    bench = ["bench", "--workload", tiny, "--methods", "cosine", "--seeds", "1", "--workers", "1", "--grid-only"]
    assert main([*bench, "--store", run, "--no-progress"]) == 0
    from tuneless.bench.catalog.workloads import resolve_workload

    here = resolve_workload(tiny, {}).data_hash()
    with Store(run) as store:
        run_id = store.latest_run_id()
        config = store.run(run_id).config
        assert config.data_hashes == {"diabetes-short": here} and len(here) >= 8
        store.update_run_config(run_id, replace(config, data_hashes={"diabetes-short": "elsewhere"}))
    output = tmp_path / "t.json"
    common = ["bench", "set-targets", "--workload", tiny, "--from-store", run, "--output", str(output)]
    assert main(common) == 0
    assert json.loads(output.read_text())["workloads"]["diabetes-short"]["data_hash"] == "elsewhere"
    # a run stored before runs recorded their data: the data here, with a note when it ran on another Python
    with Store(run) as store:
        environment = {**config.environment, "python": "2.7.18"}
        store.update_run_config(run_id, replace(config, data_hashes=None, environment=environment))
    capsys.readouterr()
    assert main(common) == 0
    assert json.loads(output.read_text())["workloads"]["diabetes-short"]["data_hash"] == here
    assert "did not record its data; diabetes-short's target is stamped with the hash of the data here" in (
        capsys.readouterr().out
    )
