"""Stores that fail cleanly: not a store, damaged, read-only opening, claims, conflicting --resume options, and two
drivers resuming one run at once (every trial run exactly once)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tuneless.bench.record.store import SCHEMA_VERSION, Store
from tuneless.bench.run.config import BenchConfig
from tuneless.cli import main

TINY = f"{os.path.dirname(__file__)}/tiny_workloads.py"
ROOT = Path(__file__).resolve().parents[2]


def _store_with_a_run(path: Path, run_id: str = "r1", workload: str = "ShortDiabetes", seeds: int = 2) -> None:
    config = BenchConfig.from_options("quick", [f"{TINY}:{workload}"], ["constant", "cosine"], seeds)
    with Store(path) as store:
        store.create_run(run_id, config)
        store.start_trial({"trial_id": "t1", "run_id": run_id, "workload": "w", "method": "constant", "seed": 0})
        store.finish_trial("t1", status="done", final_metric=1.5)


def test_a_new_store_has_the_schema_version_and_an_old_one_is_accepted(tmp_path):
    with Store(tmp_path / "new.sqlite"):
        pass
    assert sqlite3.connect(tmp_path / "new.sqlite").execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    from tuneless.bench.record.store import SCHEMA

    old = sqlite3.connect(tmp_path / "old.sqlite")  # written before the version existed: version 0, the tables
    old.executescript(SCHEMA.replace("CREATE TABLE IF NOT EXISTS claims", "CREATE TABLE IF NOT EXISTS unused"))
    old.execute("INSERT INTO runs VALUES ('r', 0, 'quick', '{}')")
    old.commit()
    old.close()
    with Store(tmp_path / "old.sqlite", read_only=True) as store:
        assert store.latest_run_id() == "r"
    assert sqlite3.connect(tmp_path / "old.sqlite").execute("PRAGMA user_version").fetchone()[0] == 0  # untouched


def test_read_only_opening_writes_nothing(tmp_path):
    path = tmp_path / "s.sqlite"
    _store_with_a_run(path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with Store(path, read_only=True) as store:
        assert store.run("r1").suite == "quick"
        with pytest.raises(ValueError, match=r"store .*s\.sqlite'.*(read-only|readonly)"):
            store.finish_trial("t1", status="failed")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "an empty file, not a tuneless store"),
        (b"hello, not a database\n" * 10, "not an SQLite file"),
        (os.urandom(4096), "not an SQLite file"),
    ],
)
def test_files_that_are_not_stores_are_one_line_errors(tmp_path, content, message):
    path = tmp_path / "bad.sqlite"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        Store(path, read_only=True)
    assert path.read_bytes() == content


def test_a_truncated_store_is_a_one_line_error(tmp_path, capsys):
    path = tmp_path / "s.sqlite"
    _store_with_a_run(path)
    with Store(path) as store:  # enough rows for several pages
        for i in range(400):
            store.add_measurement({"trial_id": "t1", "step": i, "metric": 1.0, "extra": {"pad": "x" * 200}})
    sqlite3.connect(path).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    status = main(["bench", "export", "--store", str(path), "--table", "measurements", "-o", str(tmp_path / "m.csv")])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and str(path) in err and "Traceback" not in err
    assert not (tmp_path / "m.csv").exists()


def test_claims_keep_two_drivers_off_the_same_trial(tmp_path):
    path = tmp_path / "s.sqlite"
    _store_with_a_run(path)
    first, second = Store(path), Store(path)
    try:
        assert first.claim_trial("t2") and not second.claim_trial("t2")  # a live driver's claim holds
        assert first.claim_trial("t2")  # its own claim again
        assert not first.claim_trial("t1") and not second.claim_trial("t1")  # finished: nobody runs it
        # a dead driver's claim is taken over at once (same host, its process is gone)
        first.connection.execute("UPDATE claims SET pid = ? WHERE trial_id = 't2'", (_dead_pid(),))
        assert second.claim_trial("t2")
        # and one whose heartbeat is stale, even if its process id exists (reused)
        second.connection.execute("UPDATE claims SET heartbeat = 0 WHERE trial_id = 't2'")
        assert first.claim_trial("t2")
    finally:
        first.close()
        second.close()
    assert sqlite3.connect(path).execute("SELECT count(*) FROM claims").fetchone()[0] == 0  # released on close


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.mark.parametrize(
    ("option", "value"),
    [("--seeds", ["3"]), ("--methods", ["constant", "wsd"]), ("--workload", [f"{TINY}:RaisingDiabetes"])],
)
def test_resume_with_a_conflicting_option_names_it(tmp_path, capsys, option, value):
    path = tmp_path / "s.sqlite"
    _store_with_a_run(path)
    before = path.read_bytes()
    status = main(["bench", "--resume", "--store", str(path), "--out", str(tmp_path / "out"), option, *value])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1
    assert f"--resume with {option} {' '.join(value)}: run r1 was planned with {option}" in err
    assert path.read_bytes() == before and not (tmp_path / "out").exists()


def test_two_drivers_resuming_one_run_run_every_trial_exactly_once(tmp_path):
    path = tmp_path / "s.sqlite"
    log = tmp_path / "builds.log"
    config = BenchConfig.from_options(
        "quick", [f"{TINY}:CountingDiabetes"], ["constant", "cosine"], 2, lr_resolution=None
    )  # the grid only
    with Store(path) as store:
        store.create_run("r1", config)
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "TUNELESS_TEST_BUILD_LOG": str(log),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), *sys.path]),
    }
    drivers = [
        subprocess.Popen(
            [sys.executable, "-m", "tuneless.cli", "bench", "--resume", "--store", str(path), "--workers", "1"]
            + ["--no-progress", "--out", str(tmp_path / f"out{i}")],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    errors = [driver.communicate(timeout=300)[1] for driver in drivers]
    assert [driver.returncode for driver in drivers] == [0, 0], errors
    with Store(path, read_only=True) as store:
        trials = store.trials("r1")
    assert len(trials) == 2 * 2 * 2 and {t.status for t in trials} == {"done"}
    runs = log.read_text().splitlines()
    assert len(runs) == len(trials), runs  # each trial built (run) once, by one driver or the other
    assert (tmp_path / "out0" / "report.html").is_file() and (tmp_path / "out1" / "report.html").is_file()


def test_a_run_whose_every_trial_fails_exits_1_and_one_that_partly_fails_exits_0(tmp_path, capsys):
    store, out = tmp_path / "s.sqlite", tmp_path / "out"
    argv = ["bench", "--methods", "constant", "--seeds", "1", "--workers", "1", "--no-progress", "--grid-only"]
    assert main([*argv, "--workload", f"{TINY}:NeverBuildsDiabetes", "--store", str(store), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "no model today" in err  # the first error, then the verdict naming how to list them all
    with Store(store, read_only=True) as read:
        assert f"error: all 2 trials of run {read.latest_run_id()} failed" in err.splitlines()[-1]
    assert (out / "report.html").exists()  # the report of what happened is still written
    argv[4] = "2"  # seeds 0 and 1: RaisingDiabetes fails at lr 0.03 on seed 1 only
    status = main([*argv, "--workload", f"{TINY}:RaisingDiabetes", "--store", str(tmp_path / "r.sqlite")])
    assert status == 0 and "trial(s) failed" in capsys.readouterr().err
