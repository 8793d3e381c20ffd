"""The bad-input battery of the Python API: a call with an argument it cannot use raises ``ValueError`` naming
that argument (not numpy's broadcast error, a ZeroDivisionError, or a silently wrong number)."""

from __future__ import annotations

import numpy as np
import pytest

from tuneless.laws import AnnealingLaw, MultiPowerLaw
from tuneless.laws.choose import best_schedule, optimal_schedule
from tuneless.refine import last_iterate_bound
from tuneless.schedules import linear

LAW = MultiPowerLaw(params={"L0": 3.0, "A": 0.5, "alpha": 0.5, "B": 300.0, "C": 2.0, "beta": 0.5, "gamma": 0.5})

CASES = [
    (lambda: optimal_schedule(LAW, 100, 1e-3, knots=0), r"knots=0 must be an integer >= 2"),
    (lambda: optimal_schedule(LAW, 100, 1e-3, knots=1), r"knots=1 must be an integer >= 2"),
    (lambda: optimal_schedule(LAW, 100, 1e-3, points=1.5), r"points=1.5 must be an integer >= 2"),
    (lambda: optimal_schedule(LAW, 1, 1e-3), r"total_steps=1 must be an integer >= 2"),
    (lambda: best_schedule(LAW, "wsd", 0, 1e-3), r"total_steps=0 must be an integer >= 2"),
    (lambda: best_schedule(LAW, "wsd", 100, -1e-3), r"peak_lr=-0.001 must be a finite number > 0"),
    (lambda: best_schedule(LAW, "wsd", 100, float("nan")), r"peak_lr=nan must be"),
    (lambda: best_schedule(LAW, "cosine", 100, 1e-3, warmup_steps=100), r"warmup_steps=100 must be an integer in"),
    (lambda: linear().bind(10, -1), r"scale=-1 \(the peak lr\) must be a finite number >= 0"),
    (lambda: linear().bind(10, float("nan")), r"scale=nan"),
    (lambda: linear().bind(10, "0.1x"), r"scale='0.1x'"),
    (lambda: MultiPowerLaw(params={"L0": -1.0}), r"params \{'L0': -1.0\} must be finite numbers >= 0"),
    (lambda: AnnealingLaw(params={"L0": 3.0, "zeta": 1.0}), r"params \['zeta'\] are unknown"),
    (lambda: AnnealingLaw(params={"L0": float("inf")}), r"must be finite numbers >= 0"),
    (lambda: last_iterate_bound(np.ones(3), np.ones(4)), r"grad_norms has shape \(4,\): give a scalar or one"),
]


@pytest.mark.parametrize(("call", "message"), CASES)
def test_bad_argument_raises_value_error_naming_it(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_the_good_neighbours_of_those_inputs_still_work():
    assert linear().bind(10, 0.0)(3) == 0.0 and linear().bind(10, 2.0)(5) == 1.0  # 2 * (1 - 5/10)
    assert last_iterate_bound(np.ones(4), 2.0) == last_iterate_bound(np.ones(4), np.full(4, 2.0))
    assert AnnealingLaw(params={"L0": 2.0, "A": 0.0, "alpha": 1.0, "C": 1.0}).predict(np.ones(3))[0] == 2.0
    schedule, loss = optimal_schedule(LAW, 50, 1e-3, knots=2, points=2)
    assert len(schedule.array) == 2 and np.isfinite(loss)
    # whole-number floats and numpy scalars are step counts and lrs, as everywhere else in the package
    assert optimal_schedule(LAW, 50.0, np.float32(1e-3), knots=np.int64(2), points=2.0)[1] == pytest.approx(loss)
    choice = best_schedule(LAW, "cosine", np.int64(300), 1e-3, warmup_steps=10.0)
    assert choice == best_schedule(LAW, "cosine", 300, 1e-3, warmup_steps=10)
