"""Mechanic against optax.contrib.mechanize (the authors' JAX implementation), h-clipping on.

Needs the ``jax`` extra (``pip install -e '.[jax]'``: optax and jax), which ``make test`` installs.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
optax = pytest.importorskip("optax", reason="optax and jax are optional: pip install -e '.[jax]'")
jax = pytest.importorskip("jax")

from tuneless.torch.mechanic import Mechanic  # noqa: E402

jax.config.update("jax_enable_x64", True)


def least_squares(seed=0, n=40, d=8):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, d))
    return A, A @ rng.normal(size=d) + 0.1 * rng.normal(size=n), rng.normal(size=d)


# eps = 1e-12: optax recomputes Delta as (x - x_ref) / (S + eps), a relative change eps / S that is O(1) at the
# paper's eps = 1e-8 while S is near s_init; with eps << s_init the two definitions agree.
@pytest.mark.parametrize(
    ("make_torch", "make_optax"),
    [
        (lambda p: torch.optim.SGD(p, lr=1.0), lambda: optax.sgd(1.0)),
        (lambda p: torch.optim.Adam(p, lr=0.01), lambda: optax.adam(0.01)),
    ],
)
@pytest.mark.parametrize("store_delta", [True, False])
def test_matches_optax_mechanize_with_h_clipping(make_torch, make_optax, store_delta):
    A, b, x0 = least_squares()
    steps, s_init, eps = 60, 1e-6, 1e-12

    def loss_jax(x):
        return 0.5 * jax.numpy.mean((jax.numpy.asarray(A) @ x - jax.numpy.asarray(b)) ** 2)

    tx = optax.contrib.mechanize(make_optax(), s_init=s_init, eps=eps)
    xj = jax.numpy.asarray(x0)
    state = tx.init(xj)
    expected = []
    for _ in range(steps):
        updates, state = tx.update(jax.grad(loss_jax)(xj), state, xj)
        xj = optax.apply_updates(xj, updates)
        expected.append(np.asarray(xj))

    At, bt = torch.tensor(A), torch.tensor(b)
    x = torch.nn.Parameter(torch.tensor(x0))
    opt = Mechanic(make_torch([x]), s_init=s_init, eps=eps, clip_h=True, store_delta=store_delta)
    got = []
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * ((At @ x - bt) ** 2).mean()).backward()
        opt.step()
        got.append(x.detach().numpy().copy())
    assert np.max(np.abs(np.array(got) - np.array(expected))) < 1e-6
    assert opt.scale == pytest.approx(float(np.sum(state.s)), rel=1e-6)
    assert opt.scale > 10 * s_init
