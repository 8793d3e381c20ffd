"""The Theorem-10 last-iterate bound: closed forms, the paper's numbers, its gradient, and its minimiser."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize

from tuneless.refine import bound_at_best_base_lr, bound_optimal_step_sizes, last_iterate_bound
from tuneless.refine.bound import _bound_and_gradient
from tuneless.schedules import parse_schedule


def test_two_steps_by_hand():
    # eta = [1, 1], G = 1, D = 1: S = 2, sum eta^2 G^2 = 2 -> (1 + 2) / 4; k = 1: (1 / 1) * (2 / 2) / 2 = 1/2
    assert last_iterate_bound([1.0, 1.0], 1.0) == pytest.approx(1.25, rel=1e-15)
    # eta = [2, 1], G = [1, 3], D = 2: S = 3, energy = 4 + 9 = 13 -> (4 + 13) / 6; k = 1: (2 / 1) * (13 / 3) / 2
    assert last_iterate_bound([2.0, 1.0], [1.0, 3.0], D=2.0) == pytest.approx(17 / 6 + 13 / 3, rel=1e-15)


@pytest.mark.parametrize("T", [2, 10, 1000])
def test_constant_steps_closed_form_with_harmonic_numbers(T):
    # eta_t = eta, G_t = G: D^2/(2 T eta) + eta G^2 / 2 + (eta G^2 / 2) * H_{T-1}; at the best eta the bound is
    # D G sqrt((1 + H_{T-1}) / T).
    D, G, eta = 1.7, 0.3, 0.05
    harmonic = np.sum(1 / np.arange(1, T))
    expected = D**2 / (2 * T * eta) + eta * G**2 / 2 * (1 + harmonic)
    assert last_iterate_bound(np.full(T, eta), G, D) == pytest.approx(expected, rel=1e-12)
    bound, base_lr = bound_at_best_base_lr(np.ones(T), G, D)
    assert bound == pytest.approx(D * G * np.sqrt((1 + harmonic) / T), rel=1e-12)
    assert base_lr == pytest.approx(D / (G * np.sqrt(T * (1 + harmonic))), rel=1e-12)


@pytest.mark.parametrize(
    ("spec", "coefficient", "tolerance"), [("linear", 2.0, 0.02), ("cosine", 2.06, 0.005), ("constant", 3.28, 0.005)]
)
def test_paper_coefficients_at_the_best_base_lr(spec, coefficient, tolerance):
    # arXiv 2310.07831 v2: at T = 10^4 and the best base lr, about 2.0 D G / sqrt(T) for linear decay, 2.06 for
    # cosine, 3.28 for constant. The T multipliers of a T-step run (values(T): the zero at t = T is not a step).
    T, D, G = 10_000, 1.0, 1.0
    bound, _ = bound_at_best_base_lr(parse_schedule(spec).values(T), G, D)
    assert bound * np.sqrt(T) / (D * G) == pytest.approx(coefficient, rel=tolerance)


@settings(max_examples=30, deadline=None)
@given(
    m=st.lists(st.floats(0.01, 1.0), min_size=2, max_size=50).map(np.array),
    G=st.floats(0.01, 100),
    D=st.floats(0.01, 100),
)
def test_best_base_lr_is_the_minimiser(m, G, D):
    bound, base_lr = bound_at_best_base_lr(m, G, D)
    assert last_iterate_bound(base_lr * m, G, D) == pytest.approx(bound, rel=1e-10)
    numeric = optimize.minimize_scalar(lambda log_lr: last_iterate_bound(np.exp(log_lr) * m, G, D), bracket=(-30, 30))
    assert bound <= numeric.fun * (1 + 1e-12)
    assert np.log(base_lr) == pytest.approx(numeric.x, abs=1e-3)


def test_a_final_zero_step_makes_the_bound_infinite():
    assert last_iterate_bound([1.0, 0.5, 0.0], 1.0) == np.inf
    # ... but zero steps followed by a positive step are fine
    assert np.isfinite(last_iterate_bound([1.0, 0.0, 0.5], 1.0))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), T=st.integers(2, 40), D=st.floats(0.1, 10))
def test_analytic_gradient_matches_finite_differences(seed, T, D):
    rng = np.random.default_rng(seed)
    eta = rng.uniform(0.05, 1.0, T)
    sq_norms = rng.uniform(0.1, 4.0, T)
    value, grad = _bound_and_gradient(eta, sq_norms, D)
    assert value == pytest.approx(last_iterate_bound(eta, np.sqrt(sq_norms), D), rel=1e-12)
    h = 1e-6
    numeric = np.array(
        [
            (_bound_and_gradient(eta + h * e, sq_norms, D)[0] - _bound_and_gradient(eta - h * e, sq_norms, D)[0])
            / (2 * h)
            for e in np.eye(T)
        ]
    )
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-6 * np.abs(numeric).max())


def test_bound_optimal_step_sizes_for_constant_norms_is_nearly_linear_decay():
    T = 60
    eta = bound_optimal_step_sizes(np.ones(T))
    t = np.arange(T)
    shape = eta / eta.max()
    assert np.abs(shape - (1 - t / T))[:-1].max() <= 0.04  # the bound barely constrains the last step
    # A minimiser beats linear decay at its best base lr...
    linear, _ = bound_at_best_base_lr(1 - t / T, 1.0)
    assert last_iterate_bound(eta, 1.0) < linear
    # ... and a stationary point of the bound.
    _, grad = _bound_and_gradient(eta, np.ones(T), 1.0)
    assert np.abs(grad).max() < 1e-5


def test_bound_optimal_step_sizes_scales_as_D_over_G():
    # bound(eta / c; c G, D) = c * bound(eta; G, D) and bound(d eta; G, d D) = d * bound(eta; G, D), so the
    # minimiser for norms c G is the one for G divided by c, and for distance d D it is d times the one for D.
    G = np.linspace(2.0, 1.0, 40)
    base = bound_optimal_step_sizes(G)
    np.testing.assert_allclose(bound_optimal_step_sizes(3 * G), base / 3, rtol=1e-4)
    np.testing.assert_allclose(bound_optimal_step_sizes(G, D=5.0), 5 * base, rtol=1e-4)


def test_bound_optimal_step_sizes_warms_up_under_large_early_norms():
    T = 200
    G = np.concatenate([np.linspace(5, 1, 20), np.ones(T - 20)])
    eta = bound_optimal_step_sizes(G)
    assert eta[0] < 0.5 * eta.max()
    assert np.argmax(eta) >= 10


def test_bound_optimal_step_sizes_handles_a_thousand_steps():
    T = 1000
    eta = bound_optimal_step_sizes(np.ones(T))
    shape = eta / eta.max()
    assert np.abs(shape - (1 - np.arange(T) / T))[:-1].max() <= 0.01
    assert last_iterate_bound(eta, 1.0) * np.sqrt(T) == pytest.approx(2.0, rel=0.01)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: last_iterate_bound([1.0], 1.0), "at least 2 steps"),
        (lambda: last_iterate_bound([1.0, -1.0], 1.0), "finite and >= 0"),
        (lambda: last_iterate_bound([0.0, 0.0], 1.0), "all 0"),
        (lambda: last_iterate_bound([1.0, 1.0], [1.0, np.nan]), "grad_norms must be finite"),
        (lambda: last_iterate_bound([1.0, 1.0], 1.0, D=0.0), r"D=0.0 must be a finite number > 0"),
        (lambda: bound_optimal_step_sizes([1.0, 0.0]), "grad_norms must be finite and > 0"),
        (lambda: bound_optimal_step_sizes(np.ones((2, 2))), "1-D array of at least 2 steps"),
    ],
)
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
