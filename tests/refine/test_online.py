"""Online refinement math (tuneless.refine.online): closed forms, offline agreement, spikes, re-planning bounds."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuneless.refine import refined_multipliers
from tuneless.refine.online import (
    FUTURE_MODELS,
    joined,
    online_plan,
    predict_norms,
    smoothed_seen_norms,
)

WEIGHTING_NAMES = ("sgd", "adam")


@pytest.mark.parametrize("future", FUTURE_MODELS)
@pytest.mark.parametrize("weighting", WEIGHTING_NAMES)
@pytest.mark.parametrize(("t", "total"), [(1, 2), (1, 10), (7, 10), (30, 300), (299, 300), (250, 1000)])
def test_constant_norms_give_linear_decay_for_every_model(future, weighting, t, total):
    for value in (1e-8, 0.37, 5.0, 1e6):
        plan = online_plan(np.full(t, value), total, weighting, future)
        expected = 1.0 - np.arange(t, total + 1) / total
        assert plan.shape == expected.shape
        np.testing.assert_allclose(plan, expected, rtol=0, atol=1e-12)
        assert plan[-1] == 0.0


@pytest.mark.parametrize("weighting", WEIGHTING_NAMES)
def test_constant_future_without_smoothing_is_offline_refinement_of_the_extended_norms(weighting):
    rng = np.random.default_rng(0)
    total, t = 80, 33
    seen = np.exp(rng.normal(size=t))
    plan = online_plan(seen, total, weighting, "constant", tau=0.0)
    extended = np.concatenate([seen, np.full(total + 1 - t, seen[-1])])  # steps 0..T, the future held constant
    np.testing.assert_allclose(plan, refined_multipliers(extended, weighting)[t:], rtol=1e-13, atol=1e-15)


def test_seen_norms_hundreds_of_decades_apart_still_give_the_offline_plan_not_the_linear_fallback():
    # SGD weights: 1 for the first, tiny norm, 1e-400 for every other (0 in floats, so every product w_0 w_p was 0
    # and the plan fell back to linear decay). In logarithms s_0 = 1e-400 (T - 1) dwarfs every later s_k = 1e-800 k:
    # the offline formula's plan is 0 after step 0, as exact arithmetic says.
    total, t = 40, 10
    seen = np.r_[1e-200, np.ones(9)]
    plan = online_plan(seen, total, "sgd", "constant", tau=0.0)
    extended = np.concatenate([seen, np.full(total + 1 - t, 1.0)])
    np.testing.assert_allclose(plan, refined_multipliers(extended, "sgd")[t:], rtol=1e-13, atol=1e-300)
    assert plan.tolist() == [0.0] * (total + 1 - t)


def test_trend_continues_a_power_law_exactly():
    total, t, b = 500, 120, 0.4
    steps = np.arange(t)
    norms = (steps + 1.0) ** b
    s, smoothed = smoothed_seen_norms(norms, total, tau=0.0)
    predicted = predict_norms(s, smoothed, t, total, "trend")
    np.testing.assert_allclose(predicted, (np.arange(t, total + 1) + 1.0) ** b, rtol=1e-10)


def test_trend_slope_is_clipped_to_one():
    total, t = 500, 100
    norms = (np.arange(t) + 1.0) ** 3.0
    s, smoothed = smoothed_seen_norms(norms, total, tau=0.0)
    predicted = predict_norms(s, smoothed, t, total, "trend")
    np.testing.assert_allclose(predicted, norms[-1] * (np.arange(t, total + 1) + 1.0) / t, rtol=1e-10)


def test_stretch_continues_the_seen_curve_compressed_into_the_seen_steps():
    total, t, c = 400, 100, 0.01
    norms = np.exp(c * np.arange(t))  # log-linear: stretched, it rises (t-1)/T times as fast
    s, smoothed = smoothed_seen_norms(norms, total, tau=0.0)
    predicted = predict_norms(s, smoothed, t, total, "stretch")
    k = np.arange(t, total + 1)
    np.testing.assert_allclose(predicted, np.exp(c * (t - 1) + c * (t - 1) * (k - t) / total), rtol=1e-10)


def test_rising_norms_make_the_plan_decay_faster_than_linear_and_falling_ones_slower():
    total, t = 300, 60
    rising = np.linspace(1.0, 2.0, t)
    falling = np.linspace(2.0, 1.0, t)
    linear = 1 - np.arange(t, total + 1) / total
    for future in ("trend", "stretch"):
        up = online_plan(rising, total, "adam", future, tau=0.0)
        down = online_plan(falling, total, "adam", future, tau=0.0)
        assert (up[1:-1] < linear[1:-1]).all()  # norms rose: the plan is below linear decay from here on
        assert (up[1:-1] / up[0] < linear[1:-1] / linear[0]).all()  # and falls faster relative to its value now
        assert (down[1:-1] / down[0] > linear[1:-1] / linear[0]).all()  # norms fell: it stays high longer


@pytest.mark.parametrize("future", FUTURE_MODELS)
@pytest.mark.parametrize("position", [1, 17, 40, 59])
def test_a_burst_of_up_to_a_quarter_window_of_huge_norms_changes_nothing(future, position):
    total, t = 300, 60
    width = 2 * math.floor(0.1 * total / 2) + 1  # 31: the window offline refinement would use for the run
    burst = width // 4  # 7 steps
    norms = np.full(t, 2.0)
    start = min(position, t - burst)
    norms[start : start + burst] = 1e9  # a loss spike, also over the last steps seen
    plan = online_plan(norms, total, "sgd", future)
    np.testing.assert_allclose(plan, 1 - np.arange(t, total + 1) / total, rtol=0, atol=1e-12)


def test_a_longer_burst_at_the_end_lowers_the_plan_never_raises_it():
    total, t = 300, 60
    norms = np.full(t, 2.0)
    norms[-12:] = 1e3  # longer than a quarter window: the smoothed norms see it
    plan = online_plan(norms, total, "sgd", "constant")
    linear = 1 - np.arange(t, total + 1) / total
    assert (plan <= linear + 1e-12).all()
    assert plan[0] < 0.01 * linear[0]


def test_zeros_nan_and_inf_are_handled():
    total = 100
    assert np.array_equal(online_plan(np.full(20, np.nan), total, "sgd"), 1 - np.arange(20, total + 1) / total)
    assert np.array_equal(online_plan(np.zeros(20), total, "adam"), 1 - np.arange(20, total + 1) / total)
    mixed = np.array([np.nan, np.inf, 0.0, 3.0, -np.inf, 2.0, 0.0, 1.0] * 3)
    plan = online_plan(mixed, total, "sgd", "trend", tau=0.0)
    assert np.isfinite(plan).all() and (plan >= 0).all() and (plan <= 1).all() and plan[-1] == 0


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="weighting='momentum'"):
        online_plan(np.ones(5), 10, "momentum")
    with pytest.raises(ValueError, match="future='psychic'"):
        online_plan(np.ones(5), 10, "sgd", "psychic")
    with pytest.raises(ValueError, match=r"10 seen norms must be in \[1, total_steps - 1=9\]"):
        online_plan(np.ones(10), 10, "sgd")
    with pytest.raises(ValueError, match="tau=1.5"):
        online_plan(np.ones(5), 10, "sgd", tau=1.5)
    with pytest.raises(ValueError, match="join_steps=0"):
        joined(np.ones(3), np.ones(3), 0)


# --- re-planning: continuity and bounds at every re-plan, over random norm sequences -----------------------------
norm_values = st.one_of(
    st.floats(min_value=1e-6, max_value=1e3),
    st.just(0.0),
    st.just(float("nan")),
    st.just(float("inf")),
    st.floats(min_value=1e8, max_value=1e12),  # spikes
)


def simulate(norms: np.ndarray, total: int, future: str, weighting: str, first: int, every: int, join: int):
    """The multipliers of a run re-planned as OnlineRefinedLR does, with every re-plan's (step, before, after)."""
    m = np.clip(1 - np.arange(total + 1) / total, 0, 1)
    events = []
    for t in range(first, total, every):
        before = m.copy()
        m[t:] = joined(m[t:], online_plan(norms[:t], total, weighting, future), join)
        events.append((t, before, m.copy()))
    return m, events


@settings(max_examples=60, deadline=None)
@given(
    data=st.lists(norm_values, min_size=40, max_size=40),
    future=st.sampled_from(FUTURE_MODELS),
    weighting=st.sampled_from(WEIGHTING_NAMES),
    every=st.integers(1, 12),
    join=st.integers(1, 10),
)
def test_replanning_never_jumps_and_stays_in_bounds(data, future, weighting, every, join):
    total = 40
    norms = np.array(data)
    m, events = simulate(norms, total, future, weighting, first=4, every=every, join=join)
    assert np.isfinite(m).all() and (m >= 0).all() and (m <= 1).all() and m[-1] == 0.0
    for t, before, after in events:
        assert after[t] == before[t]  # the step being re-planned keeps its multiplier: no jump
        assert np.array_equal(after[:t], before[:t])  # the past is not rewritten
        plan = online_plan(norms[:t], total, weighting, future)
        assert (plan >= 0).all() and (plan <= 1).all() and plan[-1] == 0.0
        # a step of the joined schedule is at most the larger step of the old schedule and the plan, + 1/join
        limit = np.maximum(np.abs(np.diff(before[t:])), np.abs(np.diff(plan))) + 1.0 / join + 1e-12
        assert (np.abs(np.diff(after[t:])) <= limit).all()
        if t + join <= total:
            np.testing.assert_allclose(after[t + join :], plan[join:], rtol=0, atol=1e-15)
