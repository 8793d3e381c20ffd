"""A driver that has run multi-threaded torch ops forks trials that finish (libgomp is not fork-safe: a child that
uses OpenMP threads after its parent did hangs forever)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

TINY = f"{__file__.rsplit('/', 1)[0]}/tiny_workloads.py"


def test_one_worker_after_a_threaded_op_in_the_driver_does_not_hang(tmp_path):
    store = tmp_path / "s.sqlite"
    script = textwrap.dedent(
        f"""
        import torch
        torch.set_num_threads(2)
        torch.triu(torch.full((512, 512), 1.0), 1)  # an OpenMP team in the driver, as preparing data makes one
        from tuneless.bench.benchmark import run_benchmark
        from tuneless.bench.record.store import Store
        from tuneless.bench.run.config import BenchConfig

        config = BenchConfig("quick", ["{TINY}:ThreadedDiabetes"], ["constant"], 1, {{}}, lr_resolution=None)
        run_id = run_benchmark("{store}", config, workers=1, progress=False)
        with Store("{store}") as store:
            print(sorted({{t.status for t in store.trials(run_id)}}))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "['done']"
