"""kill -9 of a running benchmark, then --resume: no finished trial is rerun and no stored row is lost."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

from tuneless.bench.record.store import Store

TINY = f"{os.path.dirname(__file__)}/tiny_workloads.py"


def _snapshot(path):
    connection = sqlite3.connect(path)
    trials = {
        row[0]: row[1:]
        for row in connection.execute("SELECT trial_id, status, started, finished, final_metric FROM trials")
    }
    measurements = set(connection.execute("SELECT * FROM measurements"))
    connection.close()
    return trials, measurements


def _count_done(path):
    try:
        connection = sqlite3.connect(path, timeout=5)
        count = connection.execute("SELECT count(*) FROM trials WHERE status = 'done'").fetchone()[0]
        connection.close()
        return count
    except sqlite3.OperationalError:  # not created yet
        return 0


def test_kill_9_then_resume(tmp_path):
    store_path = tmp_path / "s.sqlite"
    command = [
        sys.executable,
        "-m",
        "tuneless.cli",
        "bench",
        "--workload",
        f"{TINY}:ShortDiabetes",
        "--methods",
        "constant",
        "cosine",
        "wsd",
        "--seeds",
        "4",
        "--workers",
        "1",
        "--store",
        str(store_path),
        "--out",
        str(tmp_path / "out"),
        "--no-progress",
        "--grid-only",  # test_lr_bracketing resumes a run with method-fair tuning
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    driver = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while _count_done(store_path) < 3 and time.time() < deadline and driver.poll() is None:
        time.sleep(0.05)
    assert driver.poll() is None, "the run finished before it could be killed: make it longer"
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    time.sleep(0.5)  # the trial process dies with its parent (PR_SET_PDEATHSIG)
    before_trials, before_rows = _snapshot(store_path)
    finished_before = {k: v for k, v in before_trials.items() if v[0] in ("done", "failed")}
    assert 3 <= len(finished_before) < 24

    resumed = subprocess.run([*command, "--resume"], env=env, capture_output=True, text=True, timeout=180)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming run" in resumed.stderr
    after_trials, after_rows = _snapshot(store_path)
    assert len(after_trials) == 3 * 2 * 4 and {v[0] for v in after_trials.values()} == {"done"}
    for trial_id, values in finished_before.items():  # not rerun: same start and finish times, same result
        assert after_trials[trial_id] == values
    finished_rows = {row for row in before_rows if row[0] in finished_before}
    assert finished_rows <= after_rows  # no row of a finished trial lost or changed
    before_keys = {(row[0], row[1]) for row in before_rows}
    assert before_keys <= {(row[0], row[1]) for row in after_rows}  # no stored row lost at all
    with Store(store_path) as store:
        assert len(store.connection.execute("SELECT run_id FROM runs").fetchall()) == 1
