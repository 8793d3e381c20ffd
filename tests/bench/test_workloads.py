"""Built-in workloads: the logistic-regression optimum against scikit-learn, availability messages, user classes."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import check_grad

from tuneless.bench.catalog.workload import Workload, load_workload_class, optimizer_family
from tuneless.bench.catalog.workloads import BUILTIN_WORKLOADS, fashion_mnist, resolve_workload, text_lm
from tuneless.bench.catalog.workloads.logreg import DATASETS, L2_PENALTY, LogisticRegression, objective

from .conftest import EXAMPLE_REF


def test_at_least_ten_logistic_regression_datasets():
    assert len(DATASETS) >= 10
    assert {f"logreg-{d}" for d in DATASETS} <= set(BUILTIN_WORKLOADS)


@pytest.mark.parametrize("dataset", ["wine", "oj"])
def test_optimum_matches_scikit_learn(dataset):
    """sklearn minimises ||W||^2/2 + C sum_i loss_i (intercept unpenalised); with C = 1/(lambda n) that is n C
    times our f, so both minima must agree. Binary: sklearn has one logit w, ours two; at our optimum they are
    (-w/2, w/2), whose penalty lambda/2 * 2 * ||w/2||^2 = lambda/4 ||w||^2 matches sklearn with C = 2/(lambda n)."""
    from sklearn.linear_model import LogisticRegression as SkLogisticRegression

    workload = LogisticRegression(dataset)
    model, data = workload.build(seed=3)
    x, y = data["x_train"].numpy(), data["y_train"].numpy()
    n_classes = int(y.max()) + 1
    c = (2.0 if n_classes == 2 else 1.0) / (L2_PENALTY * len(y))
    sk = SkLogisticRegression(C=c, tol=1e-12, max_iter=100000).fit(x, y)
    if n_classes == 2:  # sklearn's binary model is one logit; ours is two (softmax): same optimum value
        w = np.stack([-sk.coef_[0] / 2, sk.coef_[0] / 2], axis=1)
        b = np.array([-sk.intercept_[0] / 2, sk.intercept_[0] / 2])
    else:
        w, b = sk.coef_.T, sk.intercept_
    f_sklearn, _ = objective(np.concatenate([w.ravel(), b]), x, y, n_classes)
    assert data["f_star"] <= f_sklearn + 1e-9
    assert data["f_star"] == pytest.approx(f_sklearn, abs=1e-6)


def test_objective_gradient_and_gap_at_zero():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 5)), rng.integers(0, 3, size=40)
    params = rng.normal(size=5 * 3 + 3)
    assert check_grad(lambda p: objective(p, x, y, 3)[0], lambda p: objective(p, x, y, 3)[1], params) < 1e-5
    # zero weights: every class has probability 1/3, so f = log 3
    assert objective(np.zeros(18), x, y, 3)[0] == pytest.approx(np.log(3))


@pytest.fixture
def one_torch_thread():
    """Tiny tensors: more threads only wait on each other on a shared machine."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_logreg_gap_is_nonnegative_after_sgd(one_torch_thread):
    import torch

    workload = LogisticRegression("iris")
    model, data = workload.build(seed=0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    for step in range(200):
        loss = workload.train_loss(model, data, step)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        metrics = workload.evaluate(model, data)
    assert -1e-12 <= metrics["train_loss_gap"] < 0.1
    assert 0.8 <= metrics["held_out_accuracy"] <= 1.0


def test_fashion_mnist_skips_with_the_package_name(monkeypatch, tmp_path):
    monkeypatch.setattr(fashion_mnist, "FASHION_MNIST_DIR", tmp_path / "missing")
    for name in ("fashion-mlp", "fashion-cnn"):
        assert "dataset-fashion-mnist" in resolve_workload(name).unavailable_reason()


def test_kjv_skips_with_the_package_name(monkeypatch):
    monkeypatch.setattr(text_lm.shutil, "which", lambda name: None)
    assert "bible-kjv" in resolve_workload("lm-kjv").unavailable_reason()


def test_stdlib_corpus_is_real_python():
    corpus = text_lm.stdlib_corpus()
    assert len(corpus) > 1_000_000 and b"def " in corpus and b"import " in corpus
    assert resolve_workload("lm-stdlib").unavailable_reason() is None


def test_user_workload_reference_and_errors(tmp_path):
    cls = load_workload_class(EXAMPLE_REF)
    assert issubclass(cls, Workload) and cls().validate().name == "diabetes"
    with pytest.raises(ValueError, match="neither a built-in workload"):
        resolve_workload("nonsense")
    with pytest.raises(ValueError, match="cannot import module 'no_such_module_xyz'"):
        resolve_workload("no_such_module_xyz:Thing")
    with pytest.raises(ValueError, match="'Path' in 'pathlib' is not a Workload subclass"):
        resolve_workload("pathlib:Path")
    missing = EXAMPLE_REF.rpartition(":")[0] + ":Nope"
    with pytest.raises(ValueError, match=r"my_workload.py' has no 'Nope'; its workloads: \['Diabetes'\]$"):
        resolve_workload(missing)
    with pytest.raises(ValueError, match="cannot override \\['colour'\\]"):
        resolve_workload("logreg-iris", {"colour": "red"})
    with pytest.raises(ValueError, match="budget_steps=0 must be a positive integer"):
        resolve_workload("logreg-iris", {"budget_steps": 0})


@pytest.mark.parametrize(("optimizer", "family"), [("sgd(momentum=0.9)", "sgd"), ("adamw", "adam"), ("Adam", "adam")])
def test_optimizer_family(optimizer, family):
    assert optimizer_family(optimizer) == family
