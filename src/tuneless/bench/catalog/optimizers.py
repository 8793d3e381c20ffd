"""Optimizers a method or workload names by spec, ``"name(key=value, ...)"``: ``OPTIMIZERS`` (torch's SGD, Adam,
AdamW; schedule-free SGD and AdamW; Mechanic over each; NAdamW; Prodigy), ``register_optimizer`` adds one. Every
factory is called as ``factory(params, lr=..., total_steps=..., **spec_kwargs)``.
"""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Callable
from typing import Any

from ...extras import require
from ...registry import Registry

__all__ = [
    "OPTIMIZERS",
    "check_optimizer_spec",
    "make_optimizer",
    "parse_optimizer_spec",
    "register_optimizer",
]


OPTIMIZERS: Registry[Callable[..., Any]] = Registry("optimizer")


def register_optimizer(name: str, factory: Callable[..., Any]) -> None:
    """``factory(params, lr=..., total_steps=..., **kwargs) -> torch.optim.Optimizer``; a name already registered
    is a ``ValueError``."""
    OPTIMIZERS.add(name, factory)


_SPEC = re.compile(r"^\s*([A-Za-z_][\w]*)\s*(?:\((.*)\))?\s*$", re.S)


def parse_optimizer_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """``"sgd(momentum=0.9)"`` -> ``("sgd", {"momentum": 0.9})``; values are Python literals or bare words."""
    match = _SPEC.match(spec)
    if match is None:
        raise ValueError(f"optimizer spec {spec!r}: expected name or name(key=value, ...)")
    name, body = match.group(1), match.group(2)
    kwargs: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in (body or "").split(","))):
        key, eq, value = part.partition("=")
        if not eq:
            raise ValueError(f"optimizer spec {spec!r}: argument {part!r} is not key=value")
        try:
            kwargs[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            kwargs[key.strip()] = value.strip()
    return name, kwargs


def check_optimizer_spec(spec: Any, owner: str) -> str:
    """``spec`` if it parses and names a registered optimizer, else ValueError naming ``owner`` (a workload)."""
    try:
        name, kwargs = parse_optimizer_spec(spec)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{owner}: optimizer={spec!r}: {err}") from None
    if name not in OPTIMIZERS:
        raise ValueError(
            f"{owner}: optimizer={spec!r}: {name!r} is unknown; known: {sorted(OPTIMIZERS)} "
            "(methods.register_optimizer adds one)"
        )
    try:  # the arguments fit the factory (missing or unknown ones fail here, not in every trial)
        inspect.signature(OPTIMIZERS[name]).bind(None, lr=1.0, total_steps=1, **kwargs)
    except TypeError as err:
        raise ValueError(f"{owner}: optimizer={spec!r}: {err}") from None
    return spec


def make_optimizer(spec: str, params: Any, lr: float, total_steps: int) -> Any:
    """Build the optimizer a trial uses from its spec (the peak lr goes into the param groups)."""
    name, kwargs = parse_optimizer_spec(spec)
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer {name!r} (spec {spec!r}) is unknown; known: {sorted(OPTIMIZERS)}")
    return OPTIMIZERS[name](params, lr=lr, total_steps=total_steps, **kwargs)


def _torch_optimizer(class_name: str) -> Callable[..., Any]:
    def factory(params: Any, lr: float, total_steps: int, **kwargs: Any) -> Any:
        import torch

        return getattr(torch.optim, class_name)(params, lr=lr, **kwargs)

    return factory


def _schedulefree(class_name: str) -> Callable[..., Any]:
    def factory(params: Any, lr: float, total_steps: int, warmup_fraction: float = 0.0, **kwargs: Any) -> Any:
        import schedulefree

        warmup_steps = round(warmup_fraction * total_steps)
        return getattr(schedulefree, class_name)(params, lr=lr, warmup_steps=warmup_steps, **kwargs)

    return factory


register_optimizer("sgd", _torch_optimizer("SGD"))
register_optimizer("adam", _torch_optimizer("Adam"))
register_optimizer("adamw", _torch_optimizer("AdamW"))
register_optimizer("schedulefree_sgd", _schedulefree("SGDScheduleFree"))
register_optimizer("schedulefree_adamw", _schedulefree("AdamWScheduleFree"))


#: the spec arguments of ``mechanic_<base>(...)`` that are Mechanic's own; every other one is the base optimizer's
#: (so ``mechanic_adamw(weight_decay=0.01)`` is AdamW's weight decay, not Mechanic's lambda, which keeps the paper's)
MECHANIC_OPTIONS = ("restart_factor", "freeze_after", "freeze_fraction", "s_init", "clip_h", "store_delta")


def _mechanic(base_class: str) -> Callable[..., Any]:
    """Mechanic over a torch optimizer; ``freeze_fraction=f`` freezes its scale after ``round(f * total_steps)``
    steps (``Mechanic(freeze_after=...)``)."""

    def factory(params: Any, lr: float, total_steps: int, **kwargs: Any) -> Any:
        import torch

        from ...torch.mechanic import Mechanic

        own = {k: kwargs.pop(k) for k in MECHANIC_OPTIONS if k in kwargs}
        fraction = own.pop("freeze_fraction", None)
        if fraction is not None:
            own["freeze_after"] = max(1, round(fraction * total_steps))
        return Mechanic(getattr(torch.optim, base_class)(params, lr=lr, **kwargs), **own)

    return factory


def _nadamw(params: Any, lr: float, total_steps: int, beta1: float, beta2: float, weight_decay: float) -> Any:
    from ...torch.nadamw import NAdamW

    return NAdamW(params, lr=lr, betas=(beta1, beta2), weight_decay=weight_decay)


def _prodigy(params: Any, lr: float, total_steps: int, **kwargs: Any) -> Any:
    prodigyopt = require("prodigyopt", "the prodigy method")
    return prodigyopt.Prodigy(params, lr=lr, **kwargs)


for _name, _class in (("sgd", "SGD"), ("adam", "Adam"), ("adamw", "AdamW")):
    register_optimizer(f"mechanic_{_name}", _mechanic(_class))
register_optimizer("nadamw", _nadamw)
register_optimizer("prodigy", _prodigy)
