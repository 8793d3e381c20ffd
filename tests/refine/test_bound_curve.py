"""The bound of every prefix of a run (bound_curve): closed forms by hand, every prefix against the direct
Theorem-10 formula, the best-base-lr identity, scaling, infinities and bad input."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuneless.refine import bound_at_best_base_lr, bound_curve, bound_curve_terms, last_iterate_bound
from tuneless.refine.bound_curve import BLOCK
from tuneless.schedules import linear


@pytest.mark.parametrize("eta, G, D", [(0.3, 2.0, 1.5), (1.0, 1.0, 1.0), (0.01, 5.0, 0.2)])
def test_constant_lr_against_the_formula_by_hand(eta, G, D):
    # T = 1..6 steps of eta: the Theorem-10 bound written out with exact fractions, term by term.
    T = 6
    omega = bound_curve(np.full(T, eta), G, D)
    e, g, d = Fraction(eta), Fraction(G), Fraction(D)
    for n in range(1, T + 1):  # n steps, stopped at t = n - 1
        S = n * e
        value = d**2 / (2 * S) + n * e**2 * g**2 / (2 * S)
        for k in range(n - 1):  # 0-based k < T-1: [eta / sum_{t>k} eta] [sum_{t>=k} eta^2 G^2 / sum_{t>=k} eta]
            value += Fraction(1, 2) * (e / ((n - 1 - k) * e)) * ((n - k) * e**2 * g**2 / ((n - k) * e))
        assert omega[n - 1] == pytest.approx(float(value), rel=1e-13)
        harmonic = sum(1.0 / j for j in range(1, n))  # the derived form: D^2/(2 n eta) + eta G^2 (1 + H_{n-1}) / 2
        assert omega[n - 1] == pytest.approx(D**2 / (2 * n * eta) + eta * G**2 * (1 + harmonic) / 2, rel=1e-13)


@settings(max_examples=25, deadline=None)
@given(
    T=st.integers(2, 3 * BLOCK + 7),
    seed=st.integers(0, 2**32 - 1),
    spread=st.floats(0.0, 6.0),
    D=st.floats(0.1, 10.0),
)
def test_every_prefix_equals_the_direct_bound(T, seed, spread, D):
    # Step sizes spanning up to e^{+-12}, per-step norms: the blocked exponential sum against the O(T) direct
    # formula of each prefix (so across block boundaries and far-field terms).
    rng = np.random.default_rng(seed)
    eta = rng.uniform(0.1, 1.0, T) * np.exp(rng.normal(0.0, spread, T))
    G = rng.uniform(0.2, 3.0, T)
    omega = bound_curve(eta, G, D)
    for t in sorted({1, T // 3, T // 2, T - 2, T - 1} - {0}):
        assert omega[t] == pytest.approx(last_iterate_bound(eta[: t + 1], G[: t + 1], D), rel=1e-8)


def test_linear_decay_at_the_best_base_lr_equals_bound_at_best_base_lr():
    for T in (10, 1000, 10_000):
        m = linear().values(T)
        best, base_lr = bound_at_best_base_lr(m, 1.0)
        assert bound_curve(base_lr * m)[-1] == pytest.approx(best, rel=1e-9)
        assert best * np.sqrt(T) == pytest.approx(2.0, abs=0.05) if T == 10_000 else True  # 2.0 D G / sqrt(T)


def test_a_base_lr_scales_the_two_terms_apart():
    rng = np.random.default_rng(1)
    eta, G = rng.uniform(0.1, 1, 400), rng.uniform(0.5, 2, 400)
    d1, v1 = bound_curve_terms(eta, G)
    d3, v3 = bound_curve_terms(3.0 * eta, G)
    np.testing.assert_allclose(d3, d1 / 3.0, rtol=1e-12)
    np.testing.assert_allclose(v3, 3.0 * v1, rtol=1e-9)


def test_a_zero_step_makes_its_prefix_bound_infinite_and_no_other():
    eta = np.array([0.0, 0.5, 1.0, 0.0, 1.0, 0.2])
    omega = bound_curve(eta)
    assert np.isinf(omega[[0, 3]]).all() and np.isfinite(omega[[1, 2, 4, 5]]).all()
    assert omega[5] == pytest.approx(last_iterate_bound(eta, 1.0), rel=1e-12)


@pytest.mark.parametrize(
    "eta, G, D, message",
    [
        ([1.0, -0.1, 1.0], 1.0, 1.0, r"schedule_values must be finite and >= 0; entry 1 is -0.1"),
        ([1.0, np.nan], 1.0, 1.0, r"schedule_values .* entry 1 is nan"),
        ([1.0, 1.0, 1.0], [1.0, np.nan, 1.0], 1.0, r"grad_norms must be finite and >= 0; entry 1 is nan"),
        ([1.0, 1.0, 1.0], [1.0, 1.0], 1.0, r"grad_norms .* shape \(2,\), the schedule 3 steps"),
        ([1.0, 1.0], 1.0, 0.0, r"D=0.0 must be a finite number > 0"),
        ([], 1.0, 1.0, r"schedule_values must be a non-empty 1-D array"),
    ],
)
def test_bad_input_is_one_clear_line(eta, G, D, message):
    with pytest.raises(ValueError, match=message) as err:
        bound_curve(eta, G, D)
    assert "\n" not in str(err.value)
