"""``Schedule.as_optax``: exact under ``jax.jit`` for every schedule, and an optax optimizer steps with it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuneless import schedules as S
from tuneless.refine import refine

from .strategies import any_schedule

jax = pytest.importorskip("jax", reason="the jax extra: pip install 'tuneless[jax]'")
optax = pytest.importorskip("optax", reason="the jax extra: pip install 'tuneless[jax]'")
jnp = jax.numpy


def table_under_jit(schedule: S.Schedule, T: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Every step 0..T+3 through one jitted function, and the numpy values it must equal (in jax's dtype)."""
    fn = jax.jit(schedule.as_optax(T, scale))
    steps = list(range(T + 4))
    got = np.array([fn(jnp.asarray(t, dtype=jnp.int32)) for t in steps])
    want = scale * schedule.values(T, endpoint=True)
    want = np.r_[want, np.full(3, want[-1])].astype(got.dtype)
    return got, want


@settings(max_examples=25, deadline=None)
@given(schedule=any_schedule, T=st.integers(5, 40), scale=st.floats(1e-5, 10.0))
def test_as_optax_equals_values_at_every_step_under_jit(schedule, T, scale):
    try:
        schedule(0, T)
    except ValueError:  # a horizon the schedule refuses (e.g. onecycle without a warm-up step)
        return
    got, want = table_under_jit(schedule, T, scale)
    np.testing.assert_array_equal(got, want)


def test_as_optax_is_exact_for_a_refined_schedule_at_another_horizon():
    rng = np.random.default_rng(0)
    refined = refine(np.exp(rng.normal(size=300)) * np.linspace(3, 1, 300), "adam")
    got, want = table_under_jit(refined, 1000, 3e-4)
    np.testing.assert_array_equal(got, want)
    assert got[0] < got.max()  # the refined warm-up survives the table


def test_optax_adam_steps_with_the_schedule_under_jit():
    # With sign-like Adam updates on a linear loss, each step moves x by -lr_t * (about 1): the sum of the lrs.
    T, scale = 20, 0.1
    schedule = S.warmup(S.linear(), steps=5)
    optimizer = optax.adam(learning_rate=schedule.as_optax(T, scale), eps=1e-12)

    @jax.jit
    def step(x, state):
        updates, state = optimizer.update(jnp.ones_like(x), state, x)
        return optax.apply_updates(x, updates), state

    x = jnp.zeros(3)
    state = optimizer.init(x)
    for _ in range(T + 2):
        x, state = step(x, state)
    expected = -scale * (schedule.values(T, endpoint=True).sum() + schedule(T, T))  # 22 steps; steps past T hold m(T)
    np.testing.assert_allclose(np.asarray(x), np.full(3, expected), rtol=1e-5)


def test_bound_numpy_schedule_refuses_a_traced_step_but_as_optax_does_not():
    with pytest.raises(jax.errors.TracerArrayConversionError):
        jax.jit(S.cosine().bind(10))(3)
    assert float(jax.jit(S.cosine().as_optax(10))(5)) == pytest.approx(0.5)


def test_as_optax_checks_the_horizon():
    with pytest.raises(ValueError, match="total_steps=0 must be an integer > 0"):
        S.linear().as_optax(0)
