"""Properties of every schedule over random valid arguments (hypothesis)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tuneless import schedules as S

from .strategies import BASE, any_schedule, base_schedules

horizons = st.integers(1, 3000)


def fits(schedule, T):
    """Skips the example when the horizon is too short for the schedule (an error the schedule documents)."""
    try:
        schedule(0, T)
    except ValueError as err:
        assert "total_steps" in str(err)
        assume(False)


def test_every_registered_schedule_has_a_strategy():
    assert set(S.registry) - {"warmup", "join"} == set(BASE)


@settings(max_examples=150, deadline=None)
@given(any_schedule, horizons)
def test_values_finite_and_in_documented_range(schedule, T):
    fits(schedule, T)
    v = schedule.values(T, endpoint=True)
    assert v.shape == (T + 1,)
    assert np.all(np.isfinite(v))
    lo, hi = schedule.value_range
    if isinstance(schedule, S.Tabulated):
        hi = max(schedule.array)
    assert v.min() >= lo - 1e-12
    assert v.max() <= hi + 1e-12


@settings(max_examples=150, deadline=None)
@given(base_schedules, horizons)
def test_non_increasing_where_claimed(schedule, T):
    fits(schedule, T)
    if not schedule.non_increasing:
        return
    v = schedule.values(T, endpoint=True)
    assert np.all(np.diff(v) <= 1e-12)


@settings(max_examples=100, deadline=None)
@given(base_schedules, st.floats(0.0, 0.5), horizons)
def test_warmup_ramps_then_follows_the_inner_schedule(inner, fraction, T):
    w = S.warmup(inner, fraction=fraction)
    fits(w, T)
    steps = np.arange(T + 1)
    v = w(steps, T)
    wT = np.floor(fraction * T)  # whole warmup steps: the peak is reached at t = w even when fraction * T is not whole
    ramp = steps < wT
    assert np.all(np.diff(v[ramp]) >= 0)
    if np.any(ramp):
        assert v[0] == 0.0
    # after the warmup the inner schedule runs on its own clock t - w of T - w
    rest = ~ramp
    expected = inner._eval(steps[rest] - wT, T - wT)
    np.testing.assert_allclose(v[rest], expected, atol=1e-12)


@settings(max_examples=150, deadline=None)
@given(any_schedule)
def test_spec_round_trip(schedule):
    spec = schedule.spec
    again = S.parse_schedule(spec)
    assert again == schedule
    assert again.spec == spec


@settings(max_examples=150, deadline=None)
@given(any_schedule)
def test_dict_and_json_round_trip(schedule):
    d = json.loads(json.dumps(schedule.to_dict()))
    assert S.from_dict(d) == schedule


@settings(max_examples=100, deadline=None)
@given(any_schedule, horizons)
def test_endpoints_follow_the_convention(schedule, T):
    fits(schedule, T)
    """m(0) is the start value, m(T) the final value, and steps past T hold it."""
    v = schedule.values(T, endpoint=True)
    assert schedule(0, T) == v[0]
    assert schedule(T, T) == v[-1]
    assert schedule(T + 7, T) == v[-1]
    assert schedule(10 * T, T) == v[-1]
    assert np.array_equal(schedule.values(T), v[:-1])


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(["linear", "cosine", "polynomial", "rex", "cosine_power", "exponential"]),
    st.integers(200, 2000),
    st.integers(50, 5000),
)
def test_tabulated_from_closed_form_resamples_to_other_horizons(name, n, T2):
    schedule = S.parse_schedule(name)
    table = S.Tabulated.from_schedule(schedule, n)
    steps = np.arange(T2 + 1)
    assert np.max(np.abs(table(steps, T2) - schedule(steps, T2))) < 1e-3


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0, 10, allow_nan=False), min_size=2, max_size=100))
def test_tabulated_json_file_round_trip(tmp_path_factory, values):
    path = tmp_path_factory.mktemp("tab") / "t.json"
    table = S.Tabulated(values, meta={"method": "sgd", "tau": 0.1})
    table.save(path)
    loaded = S.Tabulated.load(path)
    assert loaded == table
    assert loaded.meta == {"method": "sgd", "tau": 0.1}
    assert np.array_equal(loaded.array, np.asarray(values, dtype=float))
    assert S.load_schedule(str(path)) == table


@pytest.mark.parametrize("T", [1, 2, 7, 1000, 123457])
def test_linear_decay_reaches_exactly_its_floor(T):
    assert S.linear()(T, T) == 0.0
    assert S.linear(floor=0.25)(T, T) == 0.25
    assert S.linear()(0, T) == 1.0


@settings(max_examples=100, deadline=None)
@given(st.floats(0.01, 0.9), st.integers(2, 5000))
def test_warmup_by_fraction_reaches_the_peak(fraction, T):
    v = S.warmup(S.linear(), fraction=fraction)(np.arange(T + 1), T)
    assert v.max() == 1.0 and v[-1] == 0.0


@settings(max_examples=200, deadline=None)
@given(st.floats(0.01, 1.0), st.sampled_from(["linear", "cosine", "1-sqrt", "square"]), st.integers(1, 100_000))
def test_wsd_ends_exactly_at_zero(cooldown, shape, T):
    assert S.wsd(cooldown=cooldown, shape=shape)(T, T) == 0.0
