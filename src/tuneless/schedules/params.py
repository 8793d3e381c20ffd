"""Schedule parameters: their kinds (objects that convert, format and serialise a value), checks, and matching.

A leaf module below ``_base``: it knows no schedule class. Where a parameter holds schedules, the caller passes
``resolve`` (any accepted form -> a schedule) and ``build`` (a spec tree -> a schedule); the registry in ``_base``
does. ``match_arguments`` matches arguments to parameters (positional, keyword), ``with_defaults`` fills the rest,
``Param.from_text`` turns a spec-tree node into a Python argument and ``Param.convert`` converts and checks one
value. Each argument is matched once and converted once: by ``Schedule.__init__`` for Python calls and dicts, by
the registry's ``build`` for spec trees; both end in ``Schedule._set_arguments``, the one place that converts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .grammar import Call, Node

__all__ = [
    "REQUIRED",
    "Kind",
    "Number",
    "Optional",
    "OneOf",
    "Numbers",
    "ScheduleArg",
    "ScheduleList",
    "FLOAT",
    "INT",
    "FLOATS",
    "SCHEDULE",
    "SCHEDULES",
    "Param",
    "match_arguments",
    "with_defaults",
    "in_range",
    "positive",
    "non_negative",
]


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()

Resolve = Callable[[Any], Any]
Build = Callable[[Node], Any]


def format_number(x: Any) -> str:
    if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
        return str(int(x))
    return repr(float(x))


class Kind:
    """How one parameter's values are converted, checked for type, written as text and stored in JSON."""

    label = "value"

    def coerce(self, value: Any, resolve: Resolve) -> Any:
        """A Python argument -> the stored value; ``TypeError``/``ValueError`` if it is not of this kind."""
        raise NotImplementedError

    def from_text(self, node: Node, build: Build) -> Any:
        """A spec-tree node -> an argument for ``coerce``; ``ValueError`` naming what it is not."""
        if isinstance(node, Call):
            raise ValueError(f"={node.name}(...) is not a {self.label}")
        if isinstance(node, list):
            raise ValueError("takes a single value, got a list")
        return node

    def format(self, value: Any) -> str:
        return str(value)

    def to_json(self, value: Any) -> Any:
        return value

    def from_json(self, raw: Any, from_dict: Callable[[Any], Any]) -> Any:
        return raw

    def same(self, value: Any, default: Any) -> bool:
        return value == default


class Number(Kind):
    """A float, or an int (``integer=True``: whole numbers only)."""

    def __init__(self, integer: bool = False) -> None:
        self.integer = integer
        self.label = "int" if integer else "float"

    def coerce(self, value: Any, resolve: Resolve) -> Any:
        if isinstance(value, bool):
            raise TypeError
        if self.integer:
            if float(value) != int(float(value)):
                raise TypeError
            return int(float(value))
        return float(value)

    def from_text(self, node: Node, build: Build) -> Any:
        return _number(super().from_text(node, build))

    def format(self, value: Any) -> str:
        return format_number(value)


class Optional(Kind):
    """``None`` (``none`` in a spec) or a value of the inner kind."""

    def __init__(self, inner: Kind) -> None:
        self.inner = inner
        self.label = f"optional {inner.label}"

    def coerce(self, value: Any, resolve: Resolve) -> Any:
        return None if value is None else self.inner.coerce(value, resolve)

    def from_text(self, node: Node, build: Build) -> Any:
        return None if node == "none" else self.inner.from_text(node, build)

    def format(self, value: Any) -> str:
        return "none" if value is None else self.inner.format(value)


class OneOf(Kind):
    """One word of a fixed set."""

    label = "choice"

    def __init__(self, *choices: str) -> None:
        self.choices = choices

    def coerce(self, value: Any, resolve: Resolve) -> Any:
        value = str(value)
        if value not in self.choices:
            raise _NotAllowed(f"is not allowed: must be one of {', '.join(self.choices)}")
        return value


class Numbers(Kind):
    """A list of floats (a single number is a list of one)."""

    label = "floats"

    def coerce(self, value: Any, resolve: Resolve) -> Any:
        return tuple(float(v) for v in np.atleast_1d(np.asarray(value, dtype=float)))

    def from_text(self, node: Node, build: Build) -> Any:
        return [_number(Kind.from_text(self, x, build)) for x in (node if isinstance(node, list) else [node])]

    def format(self, value: Any) -> str:
        return "[" + ",".join(format_number(v) for v in value) + "]"

    def to_json(self, value: Any) -> Any:
        return list(value)

    def same(self, value: Any, default: Any) -> bool:
        return tuple(value) == tuple(float(d) for d in default)


class ScheduleArg(Kind):
    """A schedule: an object, a spec string, a JSON path or a dict (``resolve`` turns each into a schedule)."""

    label = "schedule"

    def coerce(self, value: Any, resolve: Resolve) -> Any:
        return resolve(value)

    def from_text(self, node: Node, build: Build) -> Any:
        return build(node)

    def format(self, value: Any) -> str:
        return value.spec

    def to_json(self, value: Any) -> Any:
        return value.to_dict()

    def from_json(self, raw: Any, from_dict: Callable[[Any], Any]) -> Any:
        return from_dict(raw)


class ScheduleList(Kind):
    """A list of schedules."""

    label = "schedules"

    def coerce(self, value: Any, resolve: Resolve) -> Any:
        return tuple(resolve(v) for v in value)

    def from_text(self, node: Node, build: Build) -> Any:
        if not isinstance(node, list):
            raise ValueError("must be a list like [constant,linear]")
        return [build(x) for x in node]

    def format(self, value: Any) -> str:
        return "[" + ",".join(v.spec for v in value) + "]"

    def to_json(self, value: Any) -> Any:
        return [v.to_dict() for v in value]

    def from_json(self, raw: Any, from_dict: Callable[[Any], Any]) -> Any:
        return [from_dict(v) for v in raw]


FLOAT, INT, FLOATS, SCHEDULE, SCHEDULES = Number(), Number(integer=True), Numbers(), ScheduleArg(), ScheduleList()


class _NotAllowed(ValueError):
    """A value of the right type outside the allowed set (its message is kept as is)."""


def _number(text: Any) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        raise ValueError(f"={text!r} is not a number") from None


@dataclass(frozen=True)
class Param:
    """One argument of a schedule.

    check: returns None if the value is allowed, else the allowed range as text (used in the error message).
    """

    name: str
    kind: Kind
    default: Any = REQUIRED
    check: Callable[[Any], str | None] | None = None
    positional: bool = False
    doc: str = ""

    def convert(self, owner: str, value: Any, resolve: Resolve) -> Any:
        """The stored value of ``value``, checked; errors read ``owner: name=value problem``."""
        try:
            converted = self.kind.coerce(value, resolve)
        except _NotAllowed as err:
            raise ValueError(f"{owner}: {self.name}={value!r} {err}") from None
        except (TypeError, ValueError) as err:
            if isinstance(self.kind, (ScheduleArg, ScheduleList)) and isinstance(err, ValueError):
                raise  # the inner schedule's own message
            raise ValueError(f"{owner}: {self.name}={value!r} is not a valid {self.kind.label}") from None
        if self.check is not None and converted is not None:
            problem = self.check(converted)
            if problem:
                raise ValueError(f"{owner}: {self.name}={self.kind.format(converted)} {problem}")
        return converted

    def from_text(self, owner: str, node: Node, build: Build) -> Any:
        try:
            return self.kind.from_text(node, build)
        except ValueError as err:
            text = str(err)
            if isinstance(self.kind, (ScheduleArg, ScheduleList)) and not text.startswith("must be a list"):
                raise
            raise ValueError(f"{owner}: {self.name}{'' if text.startswith('=') else ' '}{text}") from None


def match_arguments(
    owner: str, params: Sequence[Param], args: Sequence[Any], kwargs: Mapping[str, Any]
) -> dict[str, Any]:
    """Matches positional and keyword arguments to ``params`` (name -> the argument given); errors name the
    argument. :func:`with_defaults` completes the result."""
    names = [p.name for p in params]
    if len(args) > len(names):
        raise ValueError(f"{owner}: takes at most {len(names)} positional arguments, got {len(args)}")
    given = dict(zip(names, args, strict=False))
    for key, value in kwargs.items():
        if key not in names:
            raise ValueError(f"{owner}: unknown argument '{key}' (allowed: {', '.join(names) or 'no arguments'})")
        if key in given:
            raise ValueError(f"{owner}: argument '{key}' given twice")
        given[key] = value
    return given


def with_defaults(owner: str, params: Sequence[Param], given: Mapping[str, Any]) -> dict[str, Any]:
    """``given`` (from :func:`match_arguments`) with the defaults of the parameters not given; a required one
    missing is an error."""
    out = dict(given)
    for p in params:
        if p.name not in out:
            if p.default is REQUIRED:
                raise ValueError(f"{owner}: missing required argument '{p.name}'")
            out[p.name] = p.default
    return out


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
