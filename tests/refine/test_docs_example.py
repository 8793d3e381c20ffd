"""docs/examples/refine_three_steps.py runs end to end (tiny settings), and docs/refine.md shows it verbatim."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tuneless.refine import read_trace
from tuneless.schedules import load_schedule

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "docs" / "examples" / "refine_three_steps.py"


def test_refine_md_shows_the_script_verbatim():
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "refine.md").read_text(), flags=re.S)
    assert SCRIPT.read_text() in blocks


def test_three_steps_example_runs_with_tiny_settings(tmp_path):
    pytest.importorskip("torch")
    steps, peak_lr = 20, 0.01
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    args = ["--steps", str(steps), "--corpus-mb", "0.2", "--threads", "1", "--peak-lr", str(peak_lr)]
    result = subprocess.run(
        [sys.executable, str(SCRIPT), *args, "--out", str(tmp_path)], capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr
    rows = {line[:16].strip(): line[16:].split() for line in result.stdout.splitlines()}
    for name in ("linear decay", "refined"):
        train_bits, valid_bits = map(float, rows[name])
        assert 0 < train_bits < 8.5 and 0 < valid_bits < 8.5  # bits per byte: 8 = uniform over 256 bytes

    # Step 1 recorded every step of the linear-decay run, before each optimizer step.
    trace = read_trace(tmp_path / "trace.csv")
    np.testing.assert_array_equal(trace.step, np.arange(steps))
    np.testing.assert_allclose(trace.lr, peak_lr * (1 - np.arange(steps) / steps), rtol=1e-12)
    assert np.all(trace.grad_l1 > trace.grad_l2) and np.all(np.isfinite(trace.loss))
    # Step 2 wrote the schedule refined from it.
    refined = load_schedule(tmp_path / "refined.json")
    assert refined.meta["weighting"] == "adam" and refined.meta["steps"] == steps
    assert refined.array.max() == 1.0 and refined.array[-1] == 0.0


TEXT = (ROOT / "docs" / "refine.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", TEXT, flags=re.S)
# A python block followed at once by a text block: the text is what the block prints (its lines, in order).
PRINTS = dict(re.findall(r"```python\n((?:(?!```).)*)```\n\n```text\n((?:(?!```).)*)```", TEXT, flags=re.S))


def test_each_log_source_has_an_example_with_its_output():
    section = TEXT.split("## I already trained: refine from my logs")[1].split("\n## ")[0]
    examples = [code for code in re.findall(r"```python\n(.*?)```", section, flags=re.S) if code in PRINTS]
    for source in ("trainer_state.json", "metrics.csv", "tb-run", "--step-column"):
        assert sum(source in code or source in PRINTS[code] for code in examples) >= 1, source


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_refine_md_examples_run(index, tmp_path, monkeypatch, capsys):
    code = BLOCKS[index]
    monkeypatch.chdir(tmp_path)
    if "import torch" not in code:
        exec(compile(code, f"docs/refine.md block {index}", "exec"), {"__name__": "__docs__"})
    else:
        torch = pytest.importorskip("torch")
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            exec(compile(code, f"docs/refine.md block {index}", "exec"), {"__name__": "__docs__"})
        finally:
            torch.set_num_threads(threads)
    if code in PRINTS:  # the lines the docs show appear in the printed output, in this order
        printed = iter(capsys.readouterr().out.splitlines())
        for line in PRINTS[code].splitlines():
            assert any(line == out for out in printed), f"docs/refine.md block {index} did not print {line!r}"
