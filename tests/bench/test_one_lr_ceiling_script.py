"""benchmarks/one_lr_ceiling.py on hand-made trials: the lr picked on the other seeds, scored on the held-out one."""

from __future__ import annotations

import pytest

from .benchmark_scripts import load_script
from .trial_rows import trial_row


@pytest.fixture(scope="module")
def ceiling():
    return load_script("one_lr_ceiling")


def test_the_lr_is_chosen_without_the_held_out_seed(ceiling):
    # loss by (lr, seed): 0.3 is best on seeds 0-3, 1.0 on seed 4; 3.0 was tried on seed 0 only (bracketing) and
    # is best there, but a lr the other seeds never ran cannot be chosen in hindsight
    losses = {0.1: [0.5] * 5, 0.3: [0.1, 0.1, 0.1, 0.1, 0.4], 1.0: [0.2, 0.2, 0.2, 0.2, 0.1], 3.0: [0.01]}
    trials = [
        trial_row(method="linear", peak_lr=lr, seed=seed, final_metric=loss)
        for lr, row in losses.items()
        for seed, loss in enumerate(row)
    ]
    trials.append(trial_row(method="cosine", peak_lr=0.3, seed=0, final_metric=0.0))  # another method: ignored
    values, higher = ceiling.hindsight_values(trials, "linear")["w"]
    # every held-out seed: the others' geometric mean is lowest at 0.3 (0.1^3 x 0.4 < 0.2^3 x 0.1), so seed 4 gets 0.4
    assert values == {0: 0.1, 1: 0.1, 2: 0.1, 3: 0.1, 4: 0.4} and higher is False


def test_a_failed_trial_rules_its_lr_out_and_accuracy_is_maximised(ceiling):
    accuracy = {0.1: [0.80, 0.81, 0.79], 0.3: [0.90, 0.91, 0.89]}
    trials = [
        trial_row(workload="acc", method="linear", peak_lr=lr, seed=seed, final_metric=value, higher_is_better=True)
        for lr, row in accuracy.items()
        for seed, value in enumerate(row)
    ]
    assert ceiling.hindsight_values(trials, "linear")["acc"] == ({0: 0.90, 1: 0.91, 2: 0.89}, True)
    trials[-1] = trial_row(workload="acc", method="linear", peak_lr=0.3, seed=2, status="failed", higher_is_better=True)
    values, _ = ceiling.hindsight_values(trials, "linear")["acc"]
    # seeds 0 and 1 see seed 2's failure at 0.3 and fall back to 0.1; seed 2 picks 0.3 and failed: no value
    assert values == {0: 0.80, 1: 0.81}
