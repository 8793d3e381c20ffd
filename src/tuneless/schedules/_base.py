"""The schedule base class and the registry: evaluation, spec strings, dicts and JSON files -> schedules, and back.

Step convention (one for every schedule in tuneless):

* steps are 0-based: the optimizer step ``t`` (``t = 0, 1, ..., T - 1``) uses the multiplier ``m(t, T)``;
* the schedule's final value is reached at ``t = T`` (after the last step), as in PyTorch's
  ``CosineAnnealingLR(T_max=T)``; so ``m(0, T)`` is the start value and ``m(T, T)`` the end value (the floor);
* progress is ``p = t / T``; steps beyond ``T`` hold the value at ``T``; negative steps are an error;
* ``values(T)`` returns the ``T`` multipliers the ``T`` optimizer steps use, ``values(T, endpoint=True)`` the
  ``T + 1`` values ``m(0..T)``.

A schedule returns a multiplier of the peak learning rate; the peak stays in the optimizer's param groups.

Naming: each schedule has one name, its registry name (``linear``, ``wsd``, ...). It is the word in spec strings
and in JSON (``"name"``), and the constructor users call (``tuneless.schedules.linear``, ``.wsd``, ...) is the
class registered under it. Class names are that name in CamelCase (``Linear``, ``InverseSqrt``; ``WSD``,
``OneCycle`` keep their usual spelling); ``tuneless schedules list`` prints the names.

Modules below this one: ``grammar`` (text -> tree, knows no schedule) and ``params`` (parameter kinds, checks and
argument matching); the registry here builds schedules from trees, dicts and files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..extras import require
from ..registry import Registry
from .grammar import Call, Node, parse_tree
from .params import REQUIRED, Param, match_arguments, with_defaults

__all__ = [
    "Schedule",
    "BoundSchedule",
    "registry",
    "parse_schedule",
    "load_schedule",
    "from_dict",
    "as_schedule",
    "check_total_steps",
]

#: name -> schedule class, filled by ``Schedule.__init_subclass__`` (a second class under a taken name is an error).
registry: Registry[type[Schedule]] = Registry("schedule")


class Schedule:
    """A learning-rate multiplier as a pure function of ``(step, total_steps)``.

    Subclasses declare ``name``, ``params`` and implement ``_eval(t, T)`` on a float array ``t`` already clipped to
    ``[0, T]``. Everything else (validation, vectorisation, spec strings, dicts) lives here, once.
    """

    name: ClassVar[str] = ""
    params: ClassVar[tuple[Param, ...]] = ()
    #: True when the multiplier never increases with the step (after any warmup).
    non_increasing: ClassVar[bool] = True
    #: Documented range of the multiplier.
    value_range: ClassVar[tuple[float, float]] = (0.0, 1.0)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:
            registry.add(cls.name, cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._set_arguments(
            with_defaults(self.name, self.params, match_arguments(self.name, self.params, args, kwargs))
        )

    def _set_arguments(self, given: dict[str, Any]) -> None:
        """Converts and checks every argument (``given``: parameter name -> argument, defaults filled), once."""
        values = {p.name: p.convert(self.name, given[p.name], as_schedule) for p in self.params}
        object.__setattr__(self, "_args", values)
        self._validate()

    def _validate(self) -> None:
        """Checks that involve several arguments; subclasses override."""

    def __getattr__(self, key: str) -> Any:
        args = self.__dict__.get("_args", {})
        if key in args:
            return args[key]
        raise AttributeError(f"{type(self).__name__} has no attribute {key!r}")

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable; build a new schedule instead")

    # -- evaluation --------------------------------------------------------------------------------------------
    def __call__(self, step: Any, total_steps: int) -> Any:
        """The multiplier at ``step`` (scalar or array, 0-based) of a run of ``total_steps`` steps."""
        T = check_total_steps(total_steps)
        t = _check_steps(step)
        self._check_horizon(T)
        return self._at(t, T)

    def _at(self, t: np.ndarray, T: int) -> Any:
        """The multipliers at the checked steps ``t`` of the checked horizon ``T`` (see :class:`BoundSchedule`)."""
        out = self._eval(np.minimum(t, T).reshape(-1), T).reshape(t.shape)
        return float(out) if out.ndim == 0 else out

    def _check_horizon(self, T: int) -> None:
        """Checks that depend on the horizon (e.g. warmup steps < T); subclasses override."""

    def _eval(self, t: np.ndarray, T: int) -> np.ndarray:
        raise NotImplementedError

    def values(self, total_steps: int, endpoint: bool = False) -> np.ndarray:
        """Multipliers of steps 0..T-1 (the ones a T-step run uses), or 0..T with ``endpoint=True``."""
        T = check_total_steps(total_steps)
        return np.asarray(self(np.arange(T + 1 if endpoint else T), T), dtype=float)

    def bind(self, total_steps: int, scale: float = 1.0) -> BoundSchedule:
        """A callable of the step alone, ``scale * m(step, total_steps)`` (numpy; for ``jax.jit``, :meth:`as_optax`)."""
        return BoundSchedule(self, total_steps, scale)

    def as_optax(self, total_steps: int, scale: float = 1.0) -> Any:
        """An optax schedule, usable inside ``jax.jit``: ``scale * m(step, total_steps)`` as a jax function.

        The ``T + 1`` values ``m(0..T)`` are tabulated once (numpy, the same numbers as :meth:`values`); the
        function indexes that table by the step clipped to ``[0, T]`` with ``jax.numpy``, so it is exact at every
        integer step for every schedule, tabulated and refined ones included, and steps past ``T`` hold the final
        value. Needs the ``jax`` extra: ``pip install 'tuneless[jax]'``.
        """
        T = check_total_steps(total_steps)
        jnp = require("jax.numpy", "Schedule.as_optax")
        table = jnp.asarray(check_scale(scale) * self.values(T, endpoint=True))

        def schedule(count: Any) -> Any:
            return table[jnp.clip(jnp.asarray(count).astype(jnp.int32), 0, T)]

        return schedule

    # -- description -------------------------------------------------------------------------------------------
    @property
    def spec(self) -> str:
        """The canonical text spec: name, then required and non-default arguments in declaration order."""
        parts = []
        for p in self.params:
            value = self._args[p.name]
            if p.default is not REQUIRED and p.kind.same(value, p.default):
                continue
            text = p.kind.format(value)
            parts.append(text if p.positional else f"{p.name}={text}")
        return f"{self.name}({','.join(parts)})" if parts else self.name

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name} | {p.name: p.kind.to_json(self._args[p.name]) for p in self.params}

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Schedule:
        return from_dict(data)

    def __str__(self) -> str:
        return self.spec

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.spec}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Schedule) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(self.spec)

    def __reduce__(self) -> tuple:
        return (from_dict, (self.to_dict(),))


def check_total_steps(total_steps: Any) -> int:
    try:
        T = int(total_steps)
        ok = T == total_steps and T > 0 and not isinstance(total_steps, bool)  # (True == 1: not a step count)
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise ValueError(f"total_steps={total_steps!r} must be an integer > 0")
    return T


def _check_steps(step: Any) -> np.ndarray:
    t = np.asarray(step, dtype=float)
    if t.size and (not np.all(np.isfinite(t)) or np.min(t) < 0):
        raise ValueError(f"step must be finite and >= 0, got {step!r}")
    return t


def check_scale(scale: Any) -> float:
    """The peak lr a schedule's multipliers are scaled by: a finite number >= 0."""
    try:
        value = float(scale)
    except (TypeError, ValueError):
        value = float("nan")
    if not (0 <= value < float("inf")):
        raise ValueError(f"scale={scale!r} (the peak lr) must be a finite number >= 0")
    return value


class BoundSchedule:
    """``scale * schedule(step, total_steps)`` as a function of the step alone (optax's schedule signature).

    The horizon and the scale are checked here, once (with the schedule's horizon checks, e.g. warmup < T); a call
    checks only the step."""

    def __init__(self, schedule: Schedule, total_steps: int, scale: float = 1.0) -> None:
        self.schedule, self.total_steps, self.scale = schedule, check_total_steps(total_steps), check_scale(scale)
        schedule._check_horizon(self.total_steps)

    def __call__(self, step: Any) -> Any:
        return self.scale * self.schedule._at(_check_steps(step), self.total_steps)

    def __repr__(self) -> str:
        return f"<BoundSchedule {self.scale:g} * {self.schedule.spec} over {self.total_steps} steps>"


# -- the registry: spec trees, dicts and files -> schedules ------------------------------------------------------
def _lookup(name: str) -> type[Schedule]:
    if name not in registry:
        raise ValueError(f"unknown schedule {name!r}; known: {', '.join(sorted(registry))}")
    return registry[name]


def build(tree: Node) -> Schedule:
    """A schedule from a spec tree (``grammar.parse_tree``); the tree's words become arguments through the kinds."""
    if isinstance(tree, list):
        raise ValueError(f"expected a schedule, got a list {tree!r}")
    call = tree if isinstance(tree, Call) else Call(tree)
    cls = _lookup(call.name)
    given = match_arguments(call.name, cls.params, call.args, call.kwargs)
    params = {p.name: p for p in cls.params}
    arguments = {key: params[key].from_text(call.name, node, build) for key, node in given.items()}
    schedule = cls.__new__(cls)  # matched here: skip __init__'s matching, convert once
    schedule._set_arguments(with_defaults(call.name, cls.params, arguments))
    return schedule


def parse_schedule(text: str) -> Schedule:
    """A schedule from its text spec, e.g. ``warmup(cosine(floor=0.1),fraction=0.05)``."""
    return build(parse_tree(text))


def from_dict(data: dict[str, Any]) -> Schedule:
    """A schedule from ``Schedule.to_dict()`` output (nested schedules as dicts)."""
    if not isinstance(data, dict) or "name" not in data:
        raise ValueError(f"a schedule dict needs a 'name' key, got {data!r:.80}")
    data = dict(data)
    cls = _lookup(str(data.pop("name")))
    meta = data.pop("meta", None)
    params = {p.name: p for p in cls.params}
    arguments = {k: params[k].kind.from_json(v, from_dict) if k in params else v for k, v in data.items()}
    if meta is not None:
        if cls.name != "tabulated":
            raise ValueError(f"{cls.name}: 'meta' is only stored with tabulated schedules")
        return cls(meta=meta, **arguments)
    return cls(**arguments)


def load_schedule(spec_or_path: str | Path) -> Schedule:
    """A spec string, or a path to a JSON file written by ``Tabulated.save`` / ``Schedule.to_dict``."""
    text = str(spec_or_path)
    path = Path(text)
    if isinstance(spec_or_path, Path) or text.endswith(".json"):
        if path.is_dir():
            raise ValueError(f"{text}: is a folder, not a schedule file")
        if not path.is_file():
            raise ValueError(f"{text}: no such schedule file")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise ValueError(f"{text}: not valid JSON (line {err.lineno}: {err.msg})") from None
        except UnicodeDecodeError:
            raise ValueError(f"{text}: not a text file (a schedule file is UTF-8 JSON)") from None
        try:
            return from_dict(data)
        except ValueError as err:
            raise ValueError(f"{text}: {err}") from None
    try:
        return parse_schedule(text)
    except ValueError:
        if text and path.exists():  # a file or folder given where a spec was expected: say that, not "malformed"
            kind = "a folder" if path.is_dir() else "a file without the .json suffix"
            raise ValueError(
                f"{text!r} is {kind}: give a schedule spec (e.g. 'linear') or a .json schedule file"
            ) from None
        raise


def as_schedule(value: Any) -> Schedule:
    """Accepts a Schedule, a spec string, a JSON path or a dict."""
    if isinstance(value, Schedule):
        return value
    if isinstance(value, dict):
        return from_dict(value)
    if isinstance(value, (str, Path)):
        return load_schedule(value)
    raise ValueError(f"expected a schedule (object, spec string, JSON path or dict), got {type(value).__name__}")
