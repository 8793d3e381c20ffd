"""The workload interface: what a benchmark problem must say about itself (after AlgoPerf's spec module).

A workload is a dataset + a model + a loss + a validation metric with its direction, a target value of that
metric, a step budget, a batch size and an evaluation interval (Dahl et al. 2023, arXiv 2306.07179, section 4).
The runner owns everything else: the optimizer, the schedule, the timing (training only: evaluation is untimed),
divergence checks and the store.

Subclass :class:`Workload`, set the class attributes and write ``build``, ``train_loss`` and ``evaluate``::

    class MyWorkload(Workload):
        name = "my-problem"; metric = "val_loss"; higher_is_better = False
        target = 0.3; budget_steps = 200; batch_size = 32; eval_every = 20
        optimizer = "sgd(momentum=0.9)"; peak_lrs = (0.01, 0.03, 0.1, 0.3)

        def data_hash(self): ...                   # identifies the data the target was set on
        def build(self, seed, device): ...         # -> (torch.nn.Module, data), both on device
        def train_loss(self, model, data, step): ...  # -> scalar tensor on step's mini-batch
        def evaluate(self, model, data): ...        # -> {"val_loss": ..., other metrics ...}

A complete, tested example is ``docs/examples/my_workload.py``; run it with
``tuneless bench --workload docs/examples/my_workload.py:MyWorkload`` or ``--workload my_module:MyWorkload``.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import math
import numbers
import sys
import traceback
from pathlib import Path
from typing import Any

__all__ = ["Workload", "hash_bytes", "load_workload_class", "optimizer_family"]


def optimizer_family(optimizer: str) -> str:
    """The family of an optimizer spec, ``"sgd"`` or ``"adam"``: which gradient norm refinement uses (L2 for
    SGD-type, L1 for Adam-type) and which of a method's optimizers a workload gets.

    Defazio et al. 2023 (arXiv 2310.07831), section 3 and the authors' code: SGD-type methods refine with
    ``w_t = ||g_t||_2^-2``, coordinate-wise methods (Adam, AdamW) with ``w_t = ||g_t||_1^-1``.
    """
    name = optimizer.split("(", 1)[0].strip().lower()
    return "adam" if "adam" in name else "sgd"


class Workload:
    """Base class of a benchmark workload. Class attributes (override them; ``with_overrides`` changes them
    per suite):

    Attributes:
        name: unique short name, used in the store and the report.
        metric: name of the validation metric ``evaluate`` returns (the one targets and scoring use).
        higher_is_better: the metric's direction (accuracy: True; loss, gap, bits per byte: False).
        target: the metric value that counts as "trained"; ``None`` = taken from the suite's targets file
            (``tuneless bench set-targets``).
        budget_steps: optimizer steps per trial (the schedule's horizon T).
        batch_size: examples per step.
        eval_every: evaluate after every ``eval_every`` steps (and at step 0 and at the budget).
        optimizer: the base optimizer spec, ``"name(key=value, ...)"`` (see ``methods.OPTIMIZERS``); its family
            decides the gradient norm used by refinement (``optimizer_family``).
        peak_lrs: the peak-learning-rate grid every grid method is tuned on.
        extra_overrides: further attributes a suite may override (e.g. a model's width, bf16, compile).
    """

    name: str = ""
    metric: str = ""
    higher_is_better: bool = False
    target: float | None = None
    budget_steps: int = 0
    batch_size: int = 0
    eval_every: int = 0
    optimizer: str = "sgd"
    peak_lrs: tuple[float, ...] = ()
    extra_overrides: tuple[str, ...] = ()

    # --- the interface -----------------------------------------------------------------------------------------
    def unavailable_reason(self) -> str | None:
        """``None`` when the workload can run here, else a message (e.g. the package to install)."""
        return None

    def prepare(self, seeds: list[int]) -> None:
        """Called once in the driver before any trial: import heavy modules, fill caches (trials run in forked
        children, which inherit both). Optional."""

    def data_hash(self) -> str:
        """A hash of the data (targets are stored with it; the runner warns when it changed)."""
        raise NotImplementedError(f"{type(self).__name__}.data_hash")

    def build(self, seed: int, device: Any) -> tuple[Any, Any]:
        """The model (a ``torch.nn.Module``, initialised from ``seed``) and the data the trial uses, both on
        ``device`` (a ``torch.device``: ``cpu`` or ``cuda:N``). Initialise on the CPU and move the model, so that a
        seed gives the same initial weights on every device; draw batches from a generator on ``device`` (no
        host-to-device copy per step). A ``build(self, seed)`` without ``device`` still runs, on the CPU only."""
        raise NotImplementedError(f"{type(self).__name__}.build")

    def train_loss(self, model: Any, data: Any, step: int) -> Any:
        """The training loss (a scalar tensor with grad) on the mini-batch of optimizer step ``step`` (0-based)."""
        raise NotImplementedError(f"{type(self).__name__}.train_loss")

    def evaluate(self, model: Any, data: Any) -> dict[str, float]:
        """Validation metrics, including ``self.metric``; called under ``torch.no_grad`` with ``model.eval()``."""
        raise NotImplementedError(f"{type(self).__name__}.evaluate")

    # --- derived -----------------------------------------------------------------------------------------------
    @property
    def optimizer_family(self) -> str:
        """``"sgd"`` or ``"adam"`` (see :func:`optimizer_family`)."""
        return optimizer_family(self.optimizer)

    def with_overrides(self, **overrides: Any) -> Workload:
        """A copy with some attributes replaced (a suite's budget, grid, evaluation interval, target)."""
        allowed = {"target", "budget_steps", "batch_size", "eval_every", "peak_lrs", "optimizer", *self.extra_overrides}
        unknown = set(overrides) - allowed
        if unknown:
            raise ValueError(f"workload {self.name!r}: cannot override {sorted(unknown)}; allowed: {sorted(allowed)}")
        copy = self.__class__.__new__(self.__class__)
        copy.__dict__.update(self.__dict__)
        for key, value in overrides.items():
            setattr(copy, key, tuple(value) if key == "peak_lrs" else value)
        return copy

    def validate(self) -> Workload:
        """Check the declared attributes; returns ``self``. Raises ValueError naming the attribute. (The optimizer
        spec is checked against the registered optimizers by ``methods.check_optimizer_spec``.)"""
        for attr in ("name", "metric"):
            if not isinstance(getattr(self, attr), str) or not getattr(self, attr):
                raise ValueError(f"workload {type(self).__name__}: {attr} must be a non-empty string")
        for attr in ("budget_steps", "batch_size", "eval_every"):
            value = getattr(self, attr)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"workload {self.name!r}: {attr}={value!r} must be a positive integer")
        if not self.peak_lrs or any(not (lr > 0) for lr in self.peak_lrs):
            raise ValueError(f"workload {self.name!r}: peak_lrs={self.peak_lrs!r} must be positive numbers")
        if self.target is not None and not (isinstance(self.target, numbers.Real) and math.isfinite(self.target)):
            raise ValueError(f"workload {self.name!r}: target={self.target!r} must be a finite number (or None)")
        return self


def hash_bytes(*chunks: bytes) -> str:
    """sha256 of the chunks, hex, first 16 characters (enough to tell data sets apart)."""
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()[:16]


def load_workload_class(reference: str) -> type[Workload]:
    """Import ``"package.module:Class"`` or ``"path/to/file.py:Class"`` and check it is a Workload subclass."""
    module_name, sep, class_name = reference.rpartition(":")
    if not sep or not module_name or not class_name:
        raise ValueError(f"workload={reference!r}: expected a built-in name or MODULE:CLASS (e.g. mypkg.work:MyWork)")
    if module_name.endswith(".py"):
        path = Path(module_name)
        if not path.is_file():
            raise ValueError(f"workload={reference!r}: file {module_name!r} does not exist")
        unique = "tuneless_user_workload_" + hash_bytes(str(path.resolve()).encode())
        module = sys.modules.get(unique)
        if module is None:
            spec = importlib.util.spec_from_file_location(unique, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[unique] = module
            try:
                spec.loader.exec_module(module)
            except Exception as err:
                del sys.modules[unique]  # a fixed file is imported afresh
                raise ValueError(f"workload={reference!r}: {_import_failure(err, path)}") from None
    else:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            raise ValueError(f"workload={reference!r}: cannot import module {module_name!r} ({err})") from None
        except Exception as err:
            raise ValueError(f"workload={reference!r}: {_import_failure(err, None)}") from None
    cls = getattr(module, class_name, None)
    if cls is None:
        found = sorted(
            n for n, v in vars(module).items() if isinstance(v, type) and issubclass(v, Workload) and v is not Workload
        )
        raise ValueError(f"workload={reference!r}: {module_name!r} has no {class_name!r}; its workloads: {found}")
    if not (isinstance(cls, type) and issubclass(cls, Workload)):
        raise ValueError(f"workload={reference!r}: {class_name!r} in {module_name!r} is not a Workload subclass")
    return cls


def _import_failure(err: Exception, path: Path | None) -> str:
    """One line on a workload module that failed to import: the file and line where it failed, and why."""
    if isinstance(err, SyntaxError):
        return f"{err.filename}:{err.lineno}: {type(err).__name__}: {err.msg}"
    frames = traceback.extract_tb(err.__traceback__)
    inside = [f for f in frames if path is not None and Path(f.filename).resolve() == path.resolve()] or [
        f for f in frames if "importlib" not in f.filename
    ]
    where = f"{inside[-1].filename}:{inside[-1].lineno}: " if inside else ""
    return f"{where}importing it raised {type(err).__name__}: {err}"
