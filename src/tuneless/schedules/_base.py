"""The schedule base class: parameters, validation, evaluation, spec strings and dicts.

Step convention (one for every schedule in tuneless):

* steps are 0-based: the optimizer step ``t`` (``t = 0, 1, ..., T - 1``) uses the multiplier ``m(t, T)``;
* the schedule's final value is reached at ``t = T`` (after the last step), as in PyTorch's
  ``CosineAnnealingLR(T_max=T)``; so ``m(0, T)`` is the start value and ``m(T, T)`` the end value (the floor);
* progress is ``p = t / T``; steps beyond ``T`` hold the value at ``T``; negative steps are an error;
* ``values(T)`` returns the ``T`` multipliers the ``T`` optimizer steps use, ``values(T, endpoint=True)`` the
  ``T + 1`` values ``m(0..T)``.

A schedule returns a multiplier of the peak learning rate; the peak stays in the optimizer's param groups.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

__all__ = ["Param", "Schedule", "REQUIRED", "registry", "BoundSchedule"]


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()

#: name -> schedule class, filled by ``Schedule.__init_subclass__``.
registry: dict[str, type[Schedule]] = {}


@dataclass(frozen=True)
class Param:
    """One argument of a schedule.

    kind: "float", "int", "choice", "floats" (a list of numbers), "schedule", "schedules" (a list), "optional_float",
    "optional_int".
    check: returns None if the value is allowed, else the allowed range as text (used in the error message).
    """

    name: str
    kind: str
    default: Any = REQUIRED
    check: Callable[[Any], str | None] | None = None
    choices: tuple[str, ...] = ()
    positional: bool = False
    doc: str = ""


def in_range(lo: float, hi: float, lo_open: bool = False, hi_open: bool = False) -> Callable[[Any], str | None]:
    """A check for lo <= x <= hi (or open ends), with the interval as the error text."""
    text = f"must be in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"

    def check(x: float) -> str | None:
        ok = math.isfinite(x) and (x > lo if lo_open else x >= lo) and (x < hi if hi_open else x <= hi)
        return None if ok else text

    return check


def positive(x: float) -> str | None:
    return None if (math.isfinite(x) and x > 0) else "must be a finite number > 0"


def non_negative(x: float) -> str | None:
    return None if (math.isfinite(x) and x >= 0) else "must be a finite number >= 0"


def _format_number(x: Any) -> str:
    if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
        return str(int(x))
    return repr(float(x))


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
            registry[cls.name] = cls

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        object.__setattr__(self, "_args", {})
        names = [p.name for p in self.params]
        if len(args) > len(names):
            raise ValueError(f"{self.name}: takes at most {len(names)} positional arguments, got {len(args)}")
        given = dict(zip(names, args, strict=False))
        for key, value in kwargs.items():
            if key not in names:
                allowed = ", ".join(names) or "no arguments"
                raise ValueError(f"{self.name}: unknown argument '{key}' (allowed: {allowed})")
            if key in given:
                raise ValueError(f"{self.name}: argument '{key}' given twice")
            given[key] = value
        for p in self.params:
            if p.name not in given:
                if p.default is REQUIRED:
                    raise ValueError(f"{self.name}: missing required argument '{p.name}'")
                given[p.name] = p.default
            value = self._coerce(p, given[p.name])
            if p.check is not None and value is not None:
                problem = p.check(value)
                if problem:
                    raise ValueError(f"{self.name}: {p.name}={self._format_value(p, value)} {problem}")
            self._args[p.name] = value
        self._validate()

    # -- construction helpers ---------------------------------------------------------------------------------
    def _coerce(self, p: Param, value: Any) -> Any:
        where = f"{self.name}: {p.name}={value!r}"
        try:
            if p.kind in ("optional_float", "optional_int") and value is None:
                return None
            if p.kind in ("float", "optional_float"):
                if isinstance(value, bool):
                    raise TypeError
                return float(value)
            if p.kind in ("int", "optional_int"):
                if isinstance(value, bool) or float(value) != int(float(value)):
                    raise TypeError
                return int(float(value))
            if p.kind == "choice":
                value = str(value)
                if value not in p.choices:
                    raise ValueError(f"{where} is not allowed: must be one of {', '.join(p.choices)}")
                return value
            if p.kind == "floats":
                arr = tuple(float(v) for v in np.atleast_1d(np.asarray(value, dtype=float)))
                return arr
            if p.kind == "schedule":
                from .spec import as_schedule

                return as_schedule(value)
            if p.kind == "schedules":
                from .spec import as_schedule

                return tuple(as_schedule(v) for v in value)
        except ValueError as err:
            if str(err).startswith(self.name) or "schedule" in str(err):
                raise
            raise ValueError(f"{where} is not a valid {p.kind.replace('_', ' ')}") from None
        except TypeError:
            raise ValueError(f"{where} is not a valid {p.kind.replace('_', ' ')}") from None
        raise AssertionError(f"unknown param kind {p.kind}")

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
        t = np.asarray(step, dtype=float)
        if t.size and (not np.all(np.isfinite(t)) or np.min(t) < 0):
            raise ValueError(f"step must be finite and >= 0, got {step!r}")
        self._check_horizon(T)
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
        """A callable of the step alone, ``scale * m(step, total_steps)``: an optax-style schedule."""
        return BoundSchedule(self, check_total_steps(total_steps), float(scale))

    # -- description -------------------------------------------------------------------------------------------
    def arguments(self) -> dict[str, Any]:
        return dict(self._args)

    @property
    def spec(self) -> str:
        """The canonical text spec: name, then required and non-default arguments in declaration order."""
        parts = []
        for p in self.params:
            value = self._args[p.name]
            if p.default is not REQUIRED and _same(value, p.default, p):
                continue
            text = self._format_value(p, value)
            parts.append(text if p.positional else f"{p.name}={text}")
        return f"{self.name}({','.join(parts)})" if parts else self.name

    def _format_value(self, p: Param, value: Any) -> str:
        if value is None:
            return "none"
        if p.kind in ("float", "int", "optional_float", "optional_int"):
            return _format_number(value)
        if p.kind == "choice":
            return str(value)
        if p.kind == "floats":
            return "[" + ",".join(_format_number(v) for v in value) + "]"
        if p.kind == "schedule":
            return value.spec
        if p.kind == "schedules":
            return "[" + ",".join(v.spec for v in value) + "]"
        raise AssertionError(p.kind)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        for p in self.params:
            value = self._args[p.name]
            if p.kind == "schedule":
                value = value.to_dict()
            elif p.kind == "schedules":
                value = [v.to_dict() for v in value]
            elif p.kind == "floats":
                value = list(value)
            out[p.name] = value
        return out

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Schedule:
        from .spec import from_dict

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
        from .spec import from_dict

        return (from_dict, (self.to_dict(),))


def _same(value: Any, default: Any, p: Param) -> bool:
    if p.kind == "floats":
        return tuple(value) == tuple(float(d) for d in default)
    return value == default


def check_total_steps(total_steps: Any) -> int:
    try:
        T = int(total_steps)
        ok = T == total_steps and T > 0
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise ValueError(f"total_steps={total_steps!r} must be an integer > 0")
    return T


class BoundSchedule:
    """``scale * schedule(step, total_steps)`` as a function of the step alone (optax's schedule signature)."""

    def __init__(self, schedule: Schedule, total_steps: int, scale: float = 1.0) -> None:
        self.schedule, self.total_steps, self.scale = schedule, total_steps, scale

    def __call__(self, step: Any) -> Any:
        return self.scale * self.schedule(np.asarray(step), self.total_steps)

    def __repr__(self) -> str:
        return f"<BoundSchedule {self.scale:g} * {self.schedule.spec} over {self.total_steps} steps>"


def as_sequence(x: Any) -> Sequence[Any]:
    return x if isinstance(x, (list, tuple)) else [x]
