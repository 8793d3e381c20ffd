"""docs/integrations.md: each framework's example runs as written (smoke sizes) and prints what it should."""

from __future__ import annotations

import contextlib
import io
import math
import re
from pathlib import Path

import pytest

import torch
from tuneless.schedules import load_schedule

ROOT = Path(__file__).resolve().parents[2]
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "integrations.md").read_text(), flags=re.S)
# the record-refine-retrain example of each framework, then the tuneless.auto examples (Trainer, Lightning)
FRAMEWORKS = ["transformers", "lightning.pytorch", "timm", "accelerate", "transformers", "lightning.pytorch"]
REFINE_EXAMPLES = 4
UNIFORM = math.log(256)  # the loss of a uniform guess over 256 bytes (nats)


def test_one_example_per_framework():
    assert len(BLOCKS) == len(FRAMEWORKS)
    for block, framework in zip(BLOCKS, FRAMEWORKS, strict=True):
        assert f"tuneless.integrations.{framework.split('.')[0]}" in block
    assert all("refine(" in block for block in BLOCKS[:REFINE_EXAMPLES])
    assert all("auto" in block and "refine" not in block for block in BLOCKS[REFINE_EXAMPLES:])


def run(index: int, tmp_path, monkeypatch) -> str:
    if FRAMEWORKS[index] != "timm":  # (timm's package import needs torchvision; its scheduler does not)
        pytest.importorskip(FRAMEWORKS[index])  # installed by `make test`: never skips there
    monkeypatch.chdir(tmp_path)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    output = io.StringIO()
    try:
        with contextlib.redirect_stdout(output):
            exec(compile(BLOCKS[index], f"docs/integrations.md block {index}", "exec"), {"__name__": "__docs__"})
    finally:
        torch.set_num_threads(threads)
    if index < REFINE_EXAMPLES:
        refined = load_schedule(tmp_path / "refined.json")
        assert refined.meta["steps"] > 0 and refined.array.max() == 1.0 and refined.array[-1] == 0.0
    return output.getvalue()


def losses(text: str, label: str) -> tuple[float, float]:
    match = re.search(rf"{label}: linear decay ([0-9.]+), refined ([0-9.]+)", text)
    assert match, text
    return float(match.group(1)), float(match.group(2))


def test_trainer_example(tmp_path, monkeypatch):
    text = run(0, tmp_path, monkeypatch)
    assert "recorded 30 optimizer steps, lr 3.0e-03 -> 1.0e-04" in text  # 3e-3 * (1 - 29/30)
    for loss in losses(text, "mean train loss"):
        assert 0 < loss < UNIFORM + 0.5


def test_lightning_example(tmp_path, monkeypatch):
    text = run(1, tmp_path, monkeypatch)
    match = re.search(r"(\d+) optimizer steps, (\d+) rows, (\d+) distinct lrs", text)
    assert match, text
    steps, rows, distinct = map(int, match.groups())
    # 2,222 windows / 64 = 35 batches per epoch, 18 optimizer steps each (accumulating 2): one lr per step.
    assert steps == rows == distinct == 36
    for loss in losses(text, "last-epoch loss"):
        assert 0 < loss < UNIFORM


def test_timm_example(tmp_path, monkeypatch):
    text = run(2, tmp_path, monkeypatch)
    assert "recorded 24 updates of 24" in text
    for loss in losses(text, "final loss"):
        assert 0 < loss < math.log(4)  # better than guessing among the 4 classes


def test_accelerate_example(tmp_path, monkeypatch):
    from accelerate.state import AcceleratorState, GradientState

    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()
    text = run(3, tmp_path, monkeypatch)
    assert "recorded 32 optimizer steps from 64 micro-batches" in text
    for loss in losses(text, "final loss"):
        assert 0 < loss < 0.3  # the target variance is about 0.5: the network learned


def auto_plan(text: str) -> tuple[int, int, float, int, float, float]:
    match = re.search(
        r"(\d+) steps: a pilot of (\d+) \(unstable at lr ([0-9.e+-]+)\), a run of (\d+): Mechanic's scale from "
        r"([0-9.e+-]+) \(the pilot's seed\) to ([0-9.e+-]+)",
        text,
    )
    assert match, text
    steps, pilot, cap, run_steps, seed, scale = match.groups()
    return int(steps), int(pilot), float(cap), int(run_steps), float(seed), float(scale)


def test_trainer_auto_example(tmp_path, monkeypatch):
    steps, pilot, cap, run_steps, seed, scale = auto_plan(run(4, tmp_path, monkeypatch))
    assert (steps, pilot, run_steps) == (44, 10, 34)  # the pilot inside max_steps
    # a tenth of the min-loss lr, below where the pilot broke: the last step of the Adam ramp (1e-6 .. 10)
    assert 1e-7 < seed < cap / 10 and cap == 10
    assert scale > 0 and scale != seed  # Mechanic learned from the seed on


def test_lightning_auto_example(tmp_path, monkeypatch):
    text = run(5, tmp_path, monkeypatch)
    steps, pilot, cap, run_steps, seed, scale = auto_plan(text)
    # 2,222 windows / 64 = 35 batches per epoch, 18 optimizer steps each (accumulating 2)
    assert (steps, pilot, run_steps) == (36, 10, 26)
    assert 1e-7 < seed < cap / 10 and cap == 10 and scale > 0 and scale != seed
    loss = float(re.search(r"last-epoch loss ([0-9.]+)", text).group(1))
    assert 0 < loss < UNIFORM
