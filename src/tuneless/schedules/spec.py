"""Text specs (``wsd(cooldown=0.1,shape=1-sqrt)``), dicts and JSON files -> schedules, and back.

Grammar::

    spec  := NAME [ "(" [ arg ("," arg)* ] ")" ]
    arg   := [ NAME "=" ] value
    value := "[" [ value ("," value)* ] "]"  |  spec  |  ATOM        (numbers and words like 1-sqrt)

``Schedule.spec`` writes the canonical form (required and non-default arguments, declaration order), which parses
back to an equal schedule and formats back to the same text.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ._base import Schedule, registry

__all__ = ["parse_schedule", "from_dict", "load_schedule", "as_schedule"]

_TOKEN = re.compile(r"\s*(?:([A-Za-z0-9_.+\-]+)|(.))")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, int]] = []
        for m in _TOKEN.finditer(text):
            if m.group(1) is not None:
                self.tokens.append((m.group(1), m.start(1)))
            elif m.group(2) is not None and not m.group(2).isspace():
                self.tokens.append((m.group(2), m.start(2)))
        self.i = 0

    def error(self, what: str) -> ValueError:
        pos = self.tokens[self.i][1] if self.i < len(self.tokens) else len(self.text)
        return ValueError(f"malformed schedule spec {self.text!r}: {what} at position {pos}")

    def peek(self) -> str | None:
        return self.tokens[self.i][0] if self.i < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (expected is not None and tok != expected):
            raise self.error(f"expected {expected!r}" if expected else "unexpected end")
        self.i += 1
        return tok

    def value(self) -> Any:
        tok = self.peek()
        if tok == "[":
            self.take("[")
            items = []
            if self.peek() != "]":
                items.append(self.value())
                while self.peek() == ",":
                    self.take(",")
                    items.append(self.value())
            self.take("]")
            return items
        if tok is None or tok in "(),=]":
            raise self.error("expected a value")
        word = self.take()
        if self.peek() == "(":
            return ("call", word, self.arguments())
        return word

    def arguments(self) -> tuple[list[Any], dict[str, Any]]:
        self.take("(")
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        if self.peek() != ")":
            while True:
                if self.i + 1 < len(self.tokens) and self.tokens[self.i + 1][0] == "=":
                    key = self.take()
                    self.take("=")
                    if key in kwargs:
                        raise self.error(f"argument {key!r} given twice")
                    kwargs[key] = self.value()
                else:
                    if kwargs:
                        raise self.error("positional argument after keyword argument")
                    args.append(self.value())
                if self.peek() == ",":
                    self.take(",")
                    continue
                break
        self.take(")")
        return args, kwargs

    def parse(self) -> Any:
        if not self.tokens:
            raise ValueError("malformed schedule spec '': empty")
        tree = self.value()
        if self.peek() is not None:
            raise self.error(f"unexpected {self.peek()!r}")
        return tree


def _build(tree: Any) -> Schedule:
    if isinstance(tree, str):
        name, args, kwargs = tree, [], {}
    elif isinstance(tree, tuple):
        _, name, (args, kwargs) = tree
    else:
        raise ValueError(f"expected a schedule, got a list {tree!r}")
    cls = _lookup(name)
    if len(args) > len(cls.params):
        raise ValueError(f"{name}: takes at most {len(cls.params)} positional arguments, got {len(args)}")
    converted: dict[str, Any] = {}
    for p, raw in zip(cls.params, args, strict=False):
        converted[p.name] = _convert(name, p.name, p.kind, raw)
    kinds = {p.name: p.kind for p in cls.params}
    for key, raw in kwargs.items():
        if key not in kinds:
            raise ValueError(f"{name}: unknown argument '{key}' (allowed: {', '.join(kinds) or 'no arguments'})")
        if key in converted:
            raise ValueError(f"{name}: argument '{key}' given twice")
        converted[key] = _convert(name, key, kinds[key], raw)
    return cls(**converted)


def _convert(schedule: str, key: str, kind: str, raw: Any) -> Any:
    if kind == "schedule":
        return _build(raw)
    if kind == "schedules":
        if not isinstance(raw, list):
            raise ValueError(f"{schedule}: {key} must be a list like [constant,linear]")
        return [_build(x) for x in raw]
    if isinstance(raw, tuple):
        raise ValueError(f"{schedule}: {key}={raw[1]}(...) is not a {kind}")
    if kind == "floats":
        items = raw if isinstance(raw, list) else [raw]
        return [_number(schedule, key, x) for x in items]
    if isinstance(raw, list):
        raise ValueError(f"{schedule}: {key} takes a single value, got a list")
    if kind in ("optional_float", "optional_int") and raw == "none":
        return None
    if kind in ("float", "int", "optional_float", "optional_int"):
        return _number(schedule, key, raw)
    return raw


def _number(schedule: str, key: str, raw: Any) -> float:
    try:
        return float(raw)
    except (TypeError, ValueError):
        raise ValueError(f"{schedule}: {key}={raw!r} is not a number") from None


def _lookup(name: str) -> type[Schedule]:
    if name not in registry:
        raise ValueError(f"unknown schedule {name!r}; known: {', '.join(sorted(registry))}")
    return registry[name]


def parse_schedule(text: str) -> Schedule:
    """A schedule from its text spec, e.g. ``warmup(cosine(floor=0.1),fraction=0.05)``."""
    if not isinstance(text, str):
        raise ValueError(f"a schedule spec must be a string, got {type(text).__name__}")
    return _build(_Parser(text).parse())


def from_dict(data: dict[str, Any]) -> Schedule:
    """A schedule from ``Schedule.to_dict()`` output (nested schedules as dicts)."""
    if not isinstance(data, dict) or "name" not in data:
        raise ValueError(f"a schedule dict needs a 'name' key, got {data!r:.80}")
    data = dict(data)
    cls = _lookup(str(data.pop("name")))
    meta = data.pop("meta", None)
    kinds = {p.name: p.kind for p in cls.params}
    for key, value in list(data.items()):
        if kinds.get(key) == "schedule":
            data[key] = from_dict(value)
        elif kinds.get(key) == "schedules":
            data[key] = [from_dict(v) for v in value]
    if meta is not None:
        if cls.name != "tabulated":
            raise ValueError(f"{cls.name}: 'meta' is only stored with tabulated schedules")
        return cls(meta=meta, **data)
    return cls(**data)


def load_schedule(spec_or_path: str | Path) -> Schedule:
    """A spec string, or a path to a JSON file written by ``Tabulated.save`` / ``Schedule.to_dict``."""
    text = str(spec_or_path)
    path = Path(text)
    if isinstance(spec_or_path, Path) or text.endswith(".json"):
        if not path.is_file():
            raise ValueError(f"{text}: no such schedule file")
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise ValueError(f"{text}: not valid JSON (line {err.lineno}: {err.msg})") from None
        try:
            return from_dict(data)
        except ValueError as err:
            raise ValueError(f"{text}: {err}") from None
    return parse_schedule(text)


def as_schedule(value: Any) -> Schedule:
    """Accepts a Schedule, a spec string, a JSON path or a dict."""
    if isinstance(value, Schedule):
        return value
    if isinstance(value, dict):
        return from_dict(value)
    if isinstance(value, (str, Path)):
        return load_schedule(value)
    raise ValueError(f"expected a schedule (object, spec string, JSON path or dict), got {type(value).__name__}")
