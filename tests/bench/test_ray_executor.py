"""The Ray executor gives the same trials and scores as the local one (issue: scale out)."""

from __future__ import annotations

from dataclasses import replace

import pytest

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'tuneless[ray]'")

from tuneless.bench.benchmark import run_benchmark  # noqa: E402
from tuneless.bench.record.store import Store  # noqa: E402
from tuneless.bench.run.config import BenchConfig  # noqa: E402
from tuneless.bench.run.ray_executor import RayExecutor  # noqa: E402
from tuneless.bench.score.scoring import score_trials  # noqa: E402

TINY = f"{__file__.rsplit('/', 1)[0]}/tiny_workloads.py"


@pytest.fixture(scope="module")
def ray_executor():
    executor = RayExecutor(num_cpus=2)
    yield executor
    ray.shutdown()


def _run(tmp_path, name, executor=None, workers=None):
    config = BenchConfig("quick", [f"{TINY}:ShortDiabetes"], ["constant", "linear", "refined"], 2, {})
    store_path = tmp_path / f"{name}.sqlite"
    run_id = run_benchmark(store_path, config, run_id="same-run", executor=executor, workers=workers, progress=False)
    with Store(store_path) as store:
        trials = {t.trial_id: t for t in store.trials(run_id)}
        measurements = {tid: store.measurements(tid) for tid in trials}
    return trials, measurements


def test_ray_and_local_executors_store_the_same_trials_and_scores(tmp_path, ray_executor):
    local, local_rows = _run(tmp_path, "local", workers=1)
    remote, remote_rows = _run(tmp_path, "ray", executor=ray_executor)
    assert set(local) == set(remote) and len(local) == 3 * 2 * 2  # methods x peak lrs x seeds
    for tid, trial in local.items():
        other = remote[tid]
        for key in ("workload", "method", "peak_lr", "seed", "status", "steps_to_target", "prior_trial_id"):
            assert getattr(other, key) == getattr(trial, key), key
        assert other.final_metric == pytest.approx(trial.final_metric, rel=1e-9)
        assert [r.step for r in remote_rows[tid]] == [r.step for r in local_rows[tid]]
    # refined trials ran on the Ray workers from the traces the Ray workers recorded
    assert {t.status for t in remote.values() if t.method == "refined"} == {"done"}
    a, b = score_trials(local.values()), score_trials(remote.values())
    assert a.scores["steps"] == b.scores["steps"]
    assert a.ratios["steps"] == b.ratios["steps"]


def test_cli_runs_a_suite_through_ray_and_resumes(tmp_path, ray_executor):
    from tuneless.cli import main

    store = tmp_path / "cli.sqlite"
    args = ["bench", "--workload", f"{TINY}:ShortDiabetes", "--methods", "constant", "--seeds", "1", "--grid-only"]
    assert (
        main([*args, "--store", str(store), "--out", str(tmp_path / "out"), "--executor", "ray", "--no-progress"]) == 0
    )
    with Store(store) as s:
        (run,) = {t.run_id for t in s.trials(s.latest_run_id())}
        trials = s.trials(run)
    assert len(trials) == 2 and {t.status for t in trials} == {"done"}
    assert (tmp_path / "out" / "results.json").is_file()
    # nothing left to do: --resume through Ray reruns no finished trial
    assert (
        main(
            [
                "bench",
                "--resume",
                "--store",
                str(store),
                "--executor",
                "ray",
                "--no-progress",
                "--out",
                str(tmp_path / "o2"),
            ]
        )
        == 0
    )
    with Store(store) as s:
        assert [t.started for t in s.trials(run)] == [t.started for t in trials]


def test_address_needs_the_ray_executor(tmp_path, capsys):
    from tuneless.cli import main

    assert (
        main(["bench", "--workload", f"{TINY}:ShortDiabetes", "--address", "x:1", "--store", str(tmp_path / "s")]) == 2
    )
    assert "--address is only for --executor ray" in capsys.readouterr().err


def test_a_lost_ray_task_of_a_user_workload_is_filed_as_the_local_executor_files_it(tmp_path, ray_executor):
    """The Ray worker of seed 1 dies (os._exit): the trial is recorded by the runner's own record_failure, under the
    workload's name with its metric fields, exactly like the local executor's dead trial process."""
    config = BenchConfig("quick", [f"{TINY}:DyingDiabetes"], ["constant"], 2, {})
    stored = {}
    for name, executor, workers in (("local", None, 2), ("ray", ray_executor, None)):
        store_path = tmp_path / f"{name}.sqlite"
        run_id = run_benchmark(store_path, config, run_id="r", executor=executor, workers=workers, progress=False)
        with Store(store_path) as store:
            stored[name] = {t.trial_id: t for t in store.trials(run_id)}
    lost = {tid: t for tid, t in stored["ray"].items() if t.seed == 1}
    assert len(lost) == 2 and {t.status for t in lost.values()} == {"failed"}
    for tid, trial in lost.items():
        assert trial.error.startswith("Ray task failed: ")
        assert (trial.workload, trial.metric_name, trial.higher_is_better) == ("diabetes-dying", "val_mse", False)
        assert (trial.target, trial.budget_steps, trial.final_metric) == (0.5, 60, None)
        local = stored["local"][tid]
        assert "died with exit code 3" in local.error
        same = {"error": None, "started": None, "finished": None}  # what may differ
        assert replace(trial, **same) == replace(local, **same)
    assert {t.status for t in stored["ray"].values() if t.seed == 0} == {"done"}


def test_an_address_where_no_head_listens_is_refused_at_once(tmp_path, capsys):
    import socket

    from tuneless.bench.run.ray_executor import check_reachable
    from tuneless.cli import main

    with socket.socket() as listening:  # a port that answers passes; once closed, nothing answers there
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        check_reachable(f"127.0.0.1:{port}")
        check_reachable(f"ray://127.0.0.1:{port}")
    check_reachable("auto")  # not HOST:PORT: Ray's own business
    argv = ["bench", "--executor", "ray", "--address", f"127.0.0.1:{port}", "--workload", "logreg-wine"]
    assert main([*argv, "--store", str(tmp_path / "s.sqlite"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"--address '127.0.0.1:{port}': no Ray head answers there (connection refused)" in err
    assert not (tmp_path / "s.sqlite").exists()
