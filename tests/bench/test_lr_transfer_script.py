"""benchmarks/lr_transfer.py's analysis on hand-made trials: per-seed optima, distances in declared grid steps,
a failed transfer seed counted against it, and no division by zero without stored seconds."""

from __future__ import annotations

import math

import pytest

from .benchmark_scripts import load_script
from .trial_rows import trial_row


@pytest.fixture(scope="module")
def lr_transfer():
    return load_script("lr_transfer")


def _trial(method, lr, seed, final, status="done", seconds=1.0, steps=100):
    final = final if status == "done" else None
    return trial_row(
        method=method,
        peak_lr=lr,
        seed=seed,
        final_metric=final,
        status=status,
        train_seconds=seconds,
        budget_steps=steps,
    )


def _run(transfer_status="done", seconds=1.0):
    trials = []
    for seed in range(5):
        # linear decay: loss smallest at lr 0.3 (a bracketing midpoint 0.5477 tried on seed 0 only, worse)
        for lr, loss in ((0.1, 0.30), (0.3, 0.10), (1.0, 0.20)) + (((0.5477, 0.15),) if seed == 0 else ()):
            trials.append(_trial("linear", lr, seed, loss + 0.001 * seed, seconds=seconds))
        for lr, loss in ((0.1, 0.5), (0.3, 0.4), (1.0, 0.45)):
            trials.append(_trial("linear-quarter", lr, seed, loss, seconds=seconds and seconds / 4, steps=25))
        status = transfer_status if seed == 4 else "done"
        trials.append(_trial("transfer", 0.15, seed, 0.105 + 0.001 * seed, status=status, seconds=seconds))
        trials.append(_trial("same-lr", 0.3, seed, 0.10 + 0.001 * seed, seconds=seconds))
    return trials


def test_optimum_per_seed_and_distances_in_declared_grid_steps(lr_transfer):
    (row,) = lr_transfer.analyse(_run(), {"w": (0.1, 0.3, 1.0)})
    assert row["optimum"] == 0.3 and row["edges"] == 0 and row["seeds"] == 5
    # one declared grid step = log(sqrt(10)); transfer's 0.15 is log(2) away from 0.3
    assert row["transfer_steps"] == pytest.approx(math.log(2) / math.log(math.sqrt(10)))
    assert row["same_steps"] == 0
    # transfer is worse by 0.005 on every seed: paired "worse"; the noise rule (std 0.0016) agrees
    assert (row["paired"], row["verdict"]) == ("worse", "worse")
    assert (row["same_paired"], row["same_verdict"]) == ("tie", "tie")
    # cost: 3 quarter trials (25 steps, 1/4 s) + 1 run against 3-4 linear trials per seed
    assert row["step_cost"] == pytest.approx((5 * (75 + 100)) / (16 * 100))
    assert row["cost"] == pytest.approx((5 * (0.75 + 1)) / 16)


def test_a_failed_transfer_seed_counts_against_it(lr_transfer):
    (row,) = lr_transfer.analyse(_run(transfer_status="failed"), {"w": (0.1, 0.3, 1.0)})
    assert row["paired"] == row["verdict"] == "worse (1 failed)"
    assert row["seeds"] == 5  # the failed seed is still a seed the method ran on


def test_no_stored_seconds_gives_no_cost_instead_of_a_division_by_zero(lr_transfer):
    (row,) = lr_transfer.analyse(_run(seconds=None), {"w": (0.1, 0.3, 1.0)})
    assert row["cost"] is None and row["step_cost"] is not None
