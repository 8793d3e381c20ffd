"""The pilot's math: the geometric ramp, the stability cap and the min-loss lr (tuneless.auto.pilot)."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuneless.auto.pilot import (
    MIN_PILOT_STEPS,
    Pilot,
    check_family,
    min_loss_lr,
    stability_cap,
)


def test_ramp_endpoints_and_ratio():
    pilot = Pilot(1e-4, 1e3, 30)
    assert pilot.lr(0) == pytest.approx(1e-4, rel=1e-12)
    assert pilot.lr(29) == pytest.approx(1e3, rel=1e-12)
    # seven decades over 29 intervals: every step multiplies the lr by 10^(7/29)
    assert pilot.resolution == pytest.approx(10 ** (7 / 29), rel=1e-12)
    for k in range(29):
        assert pilot.lr(k + 1) / pilot.lr(k) == pytest.approx(pilot.resolution, rel=1e-9)
    with pytest.raises(ValueError, match="outside 0..29"):
        pilot.lr(30)


@settings(deadline=None)
@given(st.integers(1, 10**6), st.sampled_from(["sgd", "adam"]))
def test_pilot_costs_at_most_a_tenth_of_the_run(total, family):
    pilot = Pilot.for_run(total, family)
    assert pilot.steps == max(MIN_PILOT_STEPS, math.floor(0.1 * total))
    if total >= 100:
        assert pilot.steps <= 0.1 * total


def test_family_ranges():
    assert (Pilot.for_run(1000, "sgd").lo, Pilot.for_run(1000, "sgd").hi) == (1e-4, 1e3)
    assert (Pilot.for_run(1000, "adam").lo, Pilot.for_run(1000, "adam").hi) == (1e-6, 10.0)


@pytest.mark.parametrize("bad", ["rmsprop", "", None, "SGD"])
def test_unknown_family_is_one_line(bad):
    with pytest.raises(ValueError, match=r"family=.* is unknown; choose one of \['sgd', 'adam'\]"):
        check_family(bad)


@pytest.mark.parametrize("total", [0, -5, 2.5, "100"])
def test_bad_total_steps(total):
    with pytest.raises(ValueError, match="total_steps"):
        Pilot.for_run(total, "sgd")


def test_cap_is_the_first_loss_above_one_and_a_half_times_the_untrained_loss():
    lrs = [10.0**k for k in range(-3, 5)]  # 8 steps
    losses = [1.0, 1.02, 0.98, 0.7, 0.4, 0.9, 1.49, 1.51]
    result = stability_cap(lrs, losses)
    assert (result.cap, result.step, result.steps_used, result.unstable) == (1e4, 7, 8, True)
    assert result.reference_loss == 1.0
    # the min-loss lr is that of the lowest 3-step median before the cap: steps 3..5 -> median(0.7, 0.4, 0.9) = 0.7
    # at step 4, 0.4..1.49 -> 0.9 at step 5; step 3: median(0.98, 0.7, 0.4) = 0.7; the first of the ties, step 3
    assert result.min_loss_lr == 1.0


def test_non_finite_loss_is_unstable():
    result = stability_cap([1, 2, 3, 4, 5], [1.0, 1.0, 1.0, 0.5, math.nan])
    assert (result.cap, result.unstable) == (5.0, True)


def test_never_unstable_returns_the_top_of_the_ramp():
    result = stability_cap([1, 2, 3, 4, 5], [1.0, 1.0, 1.0, 0.9, 0.8])
    assert (result.cap, result.unstable, result.steps_used) == (5.0, False, 5)


def test_diverging_at_the_smallest_lrs_is_an_error():
    with pytest.raises(ValueError, match="training diverges at every lr tried"):
        stability_cap([1, 2, 3, 4], [math.inf, 1.0, 1.0, 1.0])


def test_bad_shapes():
    with pytest.raises(ValueError, match="3 lrs but 2 losses"):
        stability_cap([1, 2, 3], [1.0, 1.0])
    with pytest.raises(ValueError, match="need more than the 3 reference steps"):
        stability_cap([1, 2, 3], [1.0, 1.0, 1.0])


def test_one_low_outlier_does_not_set_the_min_loss_lr():
    lrs = list(range(1, 10))
    losses = [1.0, 1.0, 0.05, 1.0, 0.9, 0.4, 0.3, 0.35, 1.0]  # a lucky batch at step 2, real progress at 5-7
    # 3-step medians: 1, 1, 1, 0.9, 0.9, 0.4, 0.35, 0.35, 1 -> the first lowest is step 6 (lr 7), not step 2
    assert min_loss_lr(lrs, losses, 9) == 7
    # the window never reaches past `until`: up to step 5, the medians are 1, 1, 1, 0.9, 0.4 (edge: max of 2)
    assert min_loss_lr(lrs, losses, 5) == 4


@settings(deadline=None)
@given(st.lists(st.floats(0.01, 10.0), min_size=5, max_size=40), st.data())
def test_min_loss_lr_never_looks_past_the_cap(losses, data):
    until = data.draw(st.integers(1, len(losses)))
    lrs = [float(i) for i in range(len(losses))]
    assert 0 <= min_loss_lr(lrs, losses, until) < until
