"""The Python examples in the README and the docs run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Documents whose ```python blocks are complete, runnable examples (each block runs on its own).
DOCUMENTS = ["README.md", "docs/schedules.md", "docs/recorder.md", "docs/tuning.md", "docs/laws.md", "docs/auto.md"]


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)


CASES = [(doc, i, code) for doc in DOCUMENTS for i, code in enumerate(python_blocks(ROOT / doc))]


def test_documents_have_examples():
    assert all(python_blocks(ROOT / doc) for doc in DOCUMENTS)


@pytest.mark.parametrize(("doc", "index", "code"), CASES, ids=[f"{d}#{i}" for d, i, _ in CASES])
def test_example_runs(doc, index, code, tmp_path, monkeypatch):
    if "import torch" in code:
        pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, f"{doc} block {index}", "exec"), {"__name__": "__docs__"})
