"""The AlgoPerf NAdamW list (arXiv 2306.07179): its values, provenance, schedules, lazy torch import."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tuneless.hparams import load_list, nadamw_list

# The AlgoPerf NAdamW baseline list by hand: lr / 1-beta1 / beta2 / weight decay / warmup / label smoothing / dropout
REFERENCE_ROWS = [
    (1.308e-3, 0.02687, 0.99812, 0.16375, 0.10, 0.1, 0.0),
    (8.445e-4, 0.11042, 0.99785, 0.08135, 0.05, 0.2, 0.0),
    (1.308e-3, 0.02687, 0.99812, 0.16375, 0.10, 0.0, 0.0),
    (4.958e-3, 0.13626, 0.62919, 0.11474, 0.02, 0.0, 0.0),
    (1.749e-3, 0.06734, 0.99552, 0.08122, 0.02, 0.0, 0.1),
]


def test_points_match_references_section_5():
    points = nadamw_list(5)
    assert len(points) == 5
    for p, (lr, omb1, b2, wd, warm, ls, drop) in zip(points, REFERENCE_ROWS, strict=True):
        assert (p.lr, p.beta2, p.weight_decay, p.warmup_fraction, p.label_smoothing, p.dropout) == (
            lr,
            b2,
            wd,
            warm,
            ls,
            drop,
        )
        assert p.beta1 == pytest.approx(1 - omb1, abs=1e-15)
        assert p.eps == 1e-8


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_first_k_points_are_a_prefix(k):
    assert nadamw_list(k) == nadamw_list(5)[:k]


def test_provenance_is_recorded():
    data = load_list("nadamw_algoperf")
    assert "AlgoPerf" in data["source"]
    assert "2306.07179" in data["citation"]
    assert data["status"] == "to verify"
    assert "2503.03986" in data["status_meaning"]
    assert "http" not in str(data)


@pytest.mark.parametrize("kind", ["cosine", "linear"])
def test_schedule_is_warmup_then_decay_to_zero(kind):
    point = nadamw_list(2)[1]  # warmup 5%
    T = 1000
    s = point.schedule(kind)
    m = s.values(T, endpoint=True)
    assert m[0] == 0.0 and m[50] == pytest.approx(1.0) and m[-1] == pytest.approx(0.0, abs=1e-15)
    np.testing.assert_allclose(m[:51], np.arange(51) / 50, atol=1e-12)  # linear warmup over 0.05 T
    p = (np.arange(50, T + 1) - 50) / (T - 50)
    decay = (1 + np.cos(np.pi * p)) / 2 if kind == "cosine" else 1 - p
    np.testing.assert_allclose(m[50:], decay, atol=1e-12)


def test_bad_arguments_are_reported():
    with pytest.raises(ValueError, match="k must be an integer from 1 to 5, got 6"):
        nadamw_list(6)
    with pytest.raises(ValueError, match="k must be an integer from 1 to 5, got 0"):
        nadamw_list(0)
    with pytest.raises(ValueError, match=r"schedule kind must be one of \('cosine', 'linear'\), got 'wsd'"):
        nadamw_list(1)[0].schedule("wsd")
    with pytest.raises(ValueError, match="hyperparameter list 'sgd' not found"):
        load_list("sgd")


def test_importing_hparams_does_not_import_torch():
    code = "import sys, tuneless.hparams as h; h.nadamw_list(5)[0].schedule(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_optimizer_is_nadamw_with_the_point_values():
    torch = pytest.importorskip("torch")
    from tuneless.torch.nadamw import NAdamW

    point = nadamw_list(4)[3]
    opt = point.optimizer([torch.nn.Parameter(torch.zeros(3))])
    assert isinstance(opt, NAdamW)
    group = opt.param_groups[0]
    assert (group["lr"], group["betas"], group["weight_decay"], group["eps"]) == (
        4.958e-3,
        (1 - 0.13626, 0.62919),
        0.11474,
        1e-8,
    )
