from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "my_workload.py"
EXAMPLE_REF = f"{EXAMPLE}:Diabetes"


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """Logistic-regression optima go to a per-test cache (the user's cache is never touched)."""
    monkeypatch.setenv("TUNELESS_CACHE", str(tmp_path / "cache"))
