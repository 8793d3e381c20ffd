"""Where a run's artifacts live (what a run is, ``BenchConfig``, is stored with it: ``record.run_config``)."""

from __future__ import annotations

from pathlib import Path

from ..record.run_config import BenchConfig

__all__ = ["BenchConfig", "artifacts_dir"]


def artifacts_dir(store_path: str | Path, run_id: str) -> Path:
    """Gradient-norm traces and refined schedules of a run: ``<store>.artifacts/<run_id>/``."""
    store_path = Path(store_path)
    return store_path.with_name(store_path.name + ".artifacts") / run_id
