"""Built-in workloads by name, and ``resolve_workload`` for names and user ``module:Class`` references."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ....registry import Registry
from ..optimizers import check_optimizer_spec
from ..workload import Workload, load_workload_class
from .fashion_mnist import FashionCNN, FashionMLP
from .logreg import DATASETS, LogisticRegression
from .text_lm import KJVLanguageModel, StdlibLanguageModel

__all__ = ["BUILTIN_WORKLOADS", "resolve_workload"]

BUILTIN_WORKLOADS: Registry[Callable[[], Workload]] = Registry("workload")
for _name, _factory in {
    **{f"logreg-{name}": (lambda name=name: LogisticRegression(name)) for name in DATASETS},
    "fashion-mlp": FashionMLP,
    "fashion-cnn": FashionCNN,
    "lm-stdlib": StdlibLanguageModel,
    "lm-kjv": KJVLanguageModel,
}.items():
    BUILTIN_WORKLOADS.add(_name, _factory)


def resolve_workload(reference: str, overrides: Mapping[str, Any] | None = None) -> Workload:
    """A built-in workload by name or a user's ``module:Class`` / ``file.py:Class``, with suite overrides."""
    if reference in BUILTIN_WORKLOADS:
        workload = BUILTIN_WORKLOADS[reference]()
    elif ":" in reference:
        workload = load_workload_class(reference)()
    else:
        raise ValueError(
            f"workload={reference!r} is neither a built-in workload ({', '.join(BUILTIN_WORKLOADS)}) nor MODULE:CLASS"
        )
    workload = (workload.with_overrides(**overrides) if overrides else workload).validate()
    check_optimizer_spec(workload.optimizer, f"workload {workload.name!r}")
    return workload
