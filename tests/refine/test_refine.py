"""refine(): closed forms (constant norms = linear decay), hand-computed sequences, shapes the paper predicts,
properties, and bad input."""

from __future__ import annotations

import decimal
import warnings
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuneless.refine import (
    DEFAULT_TAU,
    RefinementWarning,
    median_smooth,
    read_trace,
    refine,
    refined_multipliers,
    smoothing_window,
)
from tuneless.schedules import Tabulated, load_schedule

WEIGHTINGS = ["sgd", "adam"]


@contextmanager
def no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# -- constant norms: exactly linear decay ------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(
    weighting=st.sampled_from(WEIGHTINGS),
    norm=st.floats(1e-6, 1e6),
    steps=st.integers(2, 3000),
    tau=st.floats(0.0, 0.5),
    horizon=st.integers(1, 5000),
)
def test_constant_norms_give_linear_decay_at_every_horizon(weighting, norm, steps, tau, horizon):
    schedule = refine(np.full(steps, norm), weighting=weighting, tau=tau)
    p = np.linspace(0, 1, steps)
    assert np.abs(schedule.array - (1 - p)).max() <= 1e-12
    t = np.arange(horizon + 1)
    assert np.abs(schedule(t, horizon) - (1 - t / horizon)).max() <= 1e-12


# -- hand-computed short sequences -------------------------------------------------------------------------------
def test_sgd_and_adam_weights_on_a_short_sequence_computed_by_hand():
    norms = [1.0, 2.0, 4.0, 2.0]
    # sgd: w = g^-2 = [1, 1/4, 1/16, 1/4]; sum_{p>t} w = [9/16, 5/16, 1/4, 0]; s = [9/16, 5/64, 1/64, 0]
    np.testing.assert_allclose(refine(norms, "sgd", tau=0).array, [1, 5 / 36, 1 / 36, 0], rtol=1e-15, atol=0)
    # adam: w = g^-1 = [1, 1/2, 1/4, 1/2]; sum_{p>t} w = [5/4, 3/4, 1/2, 0]; s = [5/4, 3/8, 1/8, 0]
    np.testing.assert_allclose(refine(norms, "adam", tau=0).array, [1, 3 / 10, 1 / 10, 0], rtol=1e-15, atol=0)


def test_median_filter_pads_nearest_at_the_start_and_reflects_at_the_end():
    # window 5 on [9, 5, 0, 2, 8]: padded [9, 9 | 9, 5, 0, 2, 8 | 8, 2] -> medians of
    # {9,9,9,5,0}=9, {9,9,5,0,2}=5, {9,5,0,2,8}=5, {5,0,2,8,8}=5, {0,2,8,8,2}=2.
    # (Reflecting the start would give 5 first; "nearest" at the end 8 last; numpy's edge-free "reflect" 2, 2.)
    np.testing.assert_array_equal(median_smooth([9, 5, 0, 2, 8], 5), [9, 5, 5, 5, 2])
    # window 3 on [3, 1, 2, 8, 4]: padded [3 | 3, 1, 2, 8, 4 | 4] -> [3, 2, 2, 4, 4]
    np.testing.assert_array_equal(median_smooth([3, 1, 2, 8, 4], 3), [3, 2, 2, 4, 4])


def test_refine_smooths_before_weighting():
    # tau = 0.4 on 5 steps: window 2 * round(1.0) + 1 = 3; smoothed [3, 2, 2, 4, 4] (previous test);
    # adam: w = [1/3, 1/2, 1/2, 1/4, 1/4]; sum_{p>t} w = [3/2, 1, 1/2, 1/4, 0]; s = [1/2, 1/2, 1/4, 1/16, 0]
    schedule = refine([3, 1, 2, 8, 4], "adam", tau=0.4)
    assert schedule.meta["window"] == 3
    np.testing.assert_allclose(schedule.array, [1, 1, 1 / 2, 1 / 8, 0], rtol=1e-15)


def test_window_is_the_odd_number_about_tau_T():
    assert smoothing_window(1000, 0.1) == 101
    assert smoothing_window(1000, 0.05) == 51
    assert smoothing_window(300, 0.05) == 15
    assert smoothing_window(100, 0.0) == 1
    assert smoothing_window(10, 0.01) == 1
    assert smoothing_window(160, 0.1) == 17
    assert smoothing_window(159, 0.1) == 15


# -- shapes the paper predicts -----------------------------------------------------------------------------------
def falling_then_flat(T=1000, fall=0.1):
    n = int(fall * T)
    return np.concatenate([np.linspace(5, 1, n), np.ones(T - n)])


def test_large_early_norms_create_a_warmup_sgd():
    norms = falling_then_flat()
    schedule = refine(norms, "sgd")
    values = schedule.array
    assert values[0] < 0.2
    assert np.argmax(values) >= 100 - 1  # peaks when the fall is over
    assert np.all(np.diff(values[:99]) > 0)  # rises through the fall


def test_large_early_norms_create_a_warmup_adam_as_the_formula_says():
    # With w = 1/g, s_0 / s_peak = (1/5) * sum_{p>0} w_p / (w_peak * sum_{p>peak} w_p) >= 1/5: the L1 weights
    # give a milder warmup than the L2 ones (for sgd, 1/25 instead of 1/5).
    norms = falling_then_flat()
    values = refine(norms, "adam").array
    peak = int(np.argmax(values))
    assert peak >= 99
    w = 1 / norms
    expected = w[0] * w[1:].sum() / (w[peak] * w[peak + 1 :].sum())
    assert values[0] == pytest.approx(expected, rel=1e-12)
    assert 0.2 < values[0] < 0.25


@pytest.mark.parametrize("weighting", WEIGHTINGS)
def test_norms_rising_at_the_end_anneal_faster_than_linear_decay(weighting):
    T = 1000
    onset = 800
    norms = np.concatenate([np.ones(onset), np.linspace(1, 4, T - onset)])
    values = refine(norms, weighting).array
    p = np.linspace(0, 1, T)
    # Flat part: still exactly linear decay relative to its start... until the rise shows up in sum_{p>t} w_p.
    assert np.all(values[onset + 1 : -1] < 1 - p[onset + 1 : -1])
    # Relative to where the rise starts, faster than a straight line from there to 0.
    t = np.arange(onset + 1, T - 1)
    straight = values[onset] * (T - 1 - t) / (T - 1 - onset)
    assert np.all(values[t] < straight)


@pytest.mark.parametrize("weighting", WEIGHTINGS)
def test_growing_norms_throughout_make_a_degenerate_schedule(weighting):
    # Norms that grow through training (the paper's CIFAR case): the schedule decays faster than linear from the
    # first step.
    T = 500
    values = refine(np.linspace(1, 3, T), weighting).array
    assert values[0] == 1.0
    p = np.linspace(0, 1, T)
    assert np.all(values[1:-1] < 1 - p[1:-1])


# -- properties --------------------------------------------------------------------------------------------------
norm_arrays = st.lists(st.floats(1e-3, 1e3), min_size=2, max_size=300).map(np.array)


@settings(max_examples=40, deadline=None)
@given(norms=norm_arrays, weighting=st.sampled_from(WEIGHTINGS), tau=st.floats(0, 0.3), scale=st.floats(1e-3, 1e3))
def test_shape_is_a_schedule_and_ignores_the_norms_scale(norms, weighting, tau, scale):
    values = refine(norms, weighting, tau=tau).array
    assert values.max() == 1.0 and values[-1] == 0.0 and values.min() >= 0
    np.testing.assert_allclose(refine(norms * scale, weighting, tau=tau).array, values, rtol=1e-9, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(norms=norm_arrays, tau=st.floats(0, 0.3))
def test_sgd_on_norms_is_adam_on_squared_norms(norms, tau):
    # w = ||g||^-2 (sgd) = (||g||^2)^-1 (adam); the median commutes with squaring positive numbers.
    np.testing.assert_allclose(refine(norms, "sgd", tau=tau).array, refine(norms**2, "adam", tau=tau).array, rtol=1e-12)


def test_meta_and_json_round_trip(tmp_path):
    schedule = refine(falling_then_flat(), "sgd", tau=0.1)
    assert schedule.meta == {
        "weighting": "sgd",
        "tau": 0.1,
        "window": 101,
        "norm_column": None,
        "source": "array",
        "steps": 1000,
        "dropped_non_finite": 0,
        "peak_progress": pytest.approx(np.argmax(schedule.array) / 999),
    }
    loaded = load_schedule(schedule.save(tmp_path / "refined.json"))
    assert isinstance(loaded, Tabulated)
    np.testing.assert_array_equal(loaded.array, schedule.array)
    assert loaded.meta["weighting"] == "sgd"
    t = np.arange(0, 2001)
    np.testing.assert_array_equal(loaded(t, 2000), schedule(t, 2000))


def test_default_tau():
    assert refine(np.ones(100), "adam").meta["tau"] == DEFAULT_TAU


# -- traces ------------------------------------------------------------------------------------------------------
def write_trace(path, l2, l1):
    lines = ["step,grad_l2,grad_l1,lr,loss"]
    lines += [f"{t},{a:.17g},{b:.17g},0.001," for t, (a, b) in enumerate(zip(l2, l1, strict=True))]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_refine_reads_the_column_of_its_weighting(tmp_path):
    l2 = falling_then_flat(200)
    l1 = np.linspace(1, 3, 200)
    path = write_trace(tmp_path / "t.csv", l2, l1)
    with no_warnings():
        np.testing.assert_array_equal(refine(path, "sgd", 0.05).array, refine(l2, "sgd", 0.05).array)
        np.testing.assert_array_equal(refine(read_trace(path), "adam", 0.05).array, refine(l1, "adam", 0.05).array)
    meta = refine(path, "adam").meta
    assert meta["norm_column"] == "grad_l1" and meta["source"] == str(path)


@pytest.mark.parametrize(("column", "weighting", "other"), [("grad_l1", "sgd", "adam"), ("grad_l2", "adam", "sgd")])
def test_a_trace_with_the_other_norm_is_an_error(tmp_path, column, weighting, other):
    """issue 27: a weighting/norm mismatch warned and refined the wrong norm; it is an error naming the weighting
    the norm implies."""
    path = tmp_path / "t.csv"
    path.write_text(f"step,{column}\n" + "".join(f"{t},{1 + t}\n" for t in range(20)))
    with pytest.raises(ValueError, match=rf"weighting='{weighting}' needs .* has only {column}.*weighting='{other}'"):
        refine(path, weighting)
    schedule = refine(path, other)
    assert schedule.meta["norm_column"] == column and schedule.meta["norm_kind"] == column[-2:]
    np.testing.assert_array_equal(schedule.array, refine(np.arange(1.0, 21), other).array)


# -- bad input ---------------------------------------------------------------------------------------------------
def test_non_finite_norms_are_dropped_with_their_count():
    norms = np.ones(50)
    norms[[3, 10, 11]] = [np.nan, np.inf, -np.inf]
    with pytest.warns(RefinementWarning, match="dropped 3 non-finite norm"):
        schedule = refine(norms, "sgd")
    assert schedule.meta["steps"] == 47 and schedule.meta["dropped_non_finite"] == 3
    np.testing.assert_allclose(schedule.array, 1 - np.linspace(0, 1, 47), atol=1e-12)


@pytest.mark.parametrize("weighting", WEIGHTINGS)
def test_all_zero_norms_are_an_error(weighting):
    with pytest.raises(ValueError, match="smoothed norms from array are 0 at 40 of 40 steps"):
        refine(np.zeros(40), weighting)


def test_negative_norms_are_an_error():
    norms = np.ones(40)
    norms[7] = -2.0
    with pytest.raises(ValueError, match=r"1 negative norm\(s\) \(first: -2.0 at finite entry 7\)"):
        refine(norms, "adam")


def test_a_window_longer_than_the_trace_shrinks_with_a_warning():
    with pytest.warns(RefinementWarning, match="window 5 \\(tau=1\\) is longer than the 4 steps; shrunk to 3"):
        schedule = refine([1.0, 2.0, 3.0, 4.0], "adam", tau=1.0)
    assert schedule.meta["window"] == 3


def test_too_few_finite_norms_is_an_error():
    with pytest.raises(ValueError, match="has 1 finite norm"):
        with pytest.warns(RefinementWarning):
            refine([1.0, np.nan], "sgd")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weighting": "lion"}, "weighting='lion' is not allowed: must be one of sgd, adam"),
        ({"tau": 1.5}, r"tau=1.5 must be in \[0, 1\]"),
        ({"tau": -0.1}, r"tau=-0.1 must be in \[0, 1\]"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        refine(np.ones(10), **{"weighting": "adam", **kwargs})


def test_two_dimensional_norms_are_an_error():
    with pytest.raises(ValueError, match="norms must be a 1-D sequence, got shape"):
        refine(np.ones((3, 3)), "sgd")


def test_empty_trace_file_is_an_error_naming_it(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(ValueError, match=f"trace {path}: empty file"):
        refine(path, "adam")


def test_norms_hundreds_of_decades_apart_refine_in_logarithms():
    # SGD weights (g_min / g_t)^2 = 10^[0, -100, -200, -300, -400]: the last underflows a float. s_t = w_t *
    # sum_{p>t} w_p, so s = 10^-100 (1 + 1e-100 + ...), 10^-300 (...), ... and normalised [1, 1e-200, 0, 0, 0].
    norms = 10.0 ** np.linspace(-200, 0, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no divide-by-zero or invalid-value warning on the way
        values = refined_multipliers(norms, "sgd")
    np.testing.assert_allclose(values, [1.0, 1e-200, 0.0, 0.0, 0.0], rtol=1e-12, atol=0)
    assert refine(np.array([1e300, 1e-300, 1.0, 1.0]), weighting="sgd").array.tolist() == [0.0, 1.0, 0.0, 0.0]


def _multipliers_in_decimal(norms, power):
    """The same formula in 50-digit decimals, whose exponents do not underflow: the oracle."""
    with decimal.localcontext() as context:
        context.prec = 50
        g = [decimal.Decimal(float(x)) for x in norms]
        w = [(min(g) / x) ** power for x in g]
        s = [w[t] * sum(w[t + 1 :], decimal.Decimal(0)) for t in range(len(w))]
        return np.array([float(x / max(s)) for x in s])


@given(
    log_norms=st.lists(st.floats(-150, 150), min_size=3, max_size=30),
    shift=st.sampled_from([-150.0, 0.0, 150.0]),
    weighting=st.sampled_from(["sgd", "adam"]),
)
def test_refined_multipliers_match_decimal_arithmetic_over_any_range_and_scale(log_norms, shift, weighting):
    norms = 10.0 ** np.array(log_norms)
    expected = _multipliers_in_decimal(norms, {"sgd": 2, "adam": 1}[weighting])
    got = refined_multipliers(norms * 10.0**shift, weighting)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-300)
