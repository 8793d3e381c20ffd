"""``tuneless bench`` killed while it writes the report: the store is intact, no report file is half-written, and
the rerun (``--resume``) writes the whole report without running a trial again."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

TINY = f"{os.path.dirname(__file__)}/tiny_workloads.py"
ROOT = Path(__file__).resolve().parents[2]

# The driver, with the report's figure writer replaced by one that dies (os._exit: no cleanup, like kill -9)
# on its second figure: results.json and one figure are written, the rest of the report is not.
DYING_REPORT = """
import os, sys
import tuneless.plotting as plotting
real_save, calls = plotting.save, []
def dying_save(fig, path):
    calls.append(path)
    if len(calls) == 2:
        os._exit(9)
    return real_save(fig, path)
plotting.save = dying_save
from tuneless.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _trials(path):
    connection = sqlite3.connect(path)
    rows = sorted(connection.execute("SELECT trial_id, status, started, finished, final_metric FROM trials"))
    connection.close()
    return rows


def test_bench_killed_during_the_report_then_rerun(tmp_path):
    store, out = tmp_path / "s.sqlite", tmp_path / "out"
    options = ["bench", "--workload", f"{TINY}:ShortDiabetes", "--methods", "constant", "linear", "--seeds", "1"]
    options += ["--workers", "1", "--store", str(store), "--out", str(out), "--no-progress", "--grid-only"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), *sys.path])}
    killed = subprocess.run([sys.executable, "-c", DYING_REPORT, *options], env=env, capture_output=True, text=True)
    assert killed.returncode == 9, killed.stderr
    trials = _trials(store)
    assert len(trials) == 4 and {t[1] for t in trials} == {"done"}  # every trial finished before the report
    assert not (out / "report.html").exists()
    for path in out.iterdir():  # what is there is whole: no file is half-written (temporary files are hidden)
        if path.name == "results.json":
            json.loads(path.read_text())
        elif path.suffix == ".png" and not path.name.startswith("."):
            assert path.read_bytes()[-8:] == b"IEND\xaeB`\x82"  # a complete PNG ends with its IEND chunk

    rerun = subprocess.run(
        [sys.executable, "-m", "tuneless.cli", *options, "--resume"], env=env, capture_output=True, text=True
    )
    assert rerun.returncode == 0, rerun.stderr
    assert _trials(store) == trials  # nothing ran again
    page = (out / "report.html").read_text()
    assert page.rstrip().endswith("</html>") and "constant" in page and "linear" in page
    results = json.loads((out / "results.json").read_text())
    assert results and (out / "profile.png").read_bytes()[-8:] == b"IEND\xaeB`\x82"
