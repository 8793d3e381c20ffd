from __future__ import annotations

from pathlib import Path

import pytest

from tuneless.bench.record.store import Store

from .trial_rows import quick_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "my_workload.py"
EXAMPLE_REF = f"{EXAMPLE}:Diabetes"


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """Logistic-regression optima go to a per-test cache (the user's cache is never touched)."""
    monkeypatch.setenv("TUNELESS_CACHE", str(tmp_path / "cache"))


def hand_made_run(path: Path, finals: dict[tuple[str, int], float], seeds: int, higher_is_better: bool) -> None:
    """A stored run ``r`` of workload ``w``: one finished trial per ``(method, seed) -> final metric`` at lr 0.1 and
    100 steps, target 0.75 (reached at step 50, in 1 s, by a final metric on its right side), 2 s of training."""
    with Store(path) as store:
        store.create_run("r", quick_config(seeds))
        for (method, seed), final in finals.items():
            tid = f"{method}{seed}"
            store.start_trial(
                {
                    "trial_id": tid,
                    "run_id": "r",
                    "workload": "w",
                    "method": method,
                    "peak_lr": 0.1,
                    "seed": seed,
                    "metric_name": "acc" if higher_is_better else "loss",
                    "higher_is_better": int(higher_is_better),
                    "target": 0.75,
                    "budget_steps": 100,
                }
            )
            met = final >= 0.75 if higher_is_better else final <= 0.75
            store.finish_trial(
                tid,
                status="done",
                final_metric=final,
                steps_to_target=50 if met else None,
                seconds_to_target=1.0 if met else None,
                train_seconds=2.0,
            )
