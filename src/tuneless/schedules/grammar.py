"""The text grammar of schedule specs: text -> tree. A leaf module: it knows no schedule.

Grammar::

    spec  := NAME [ "(" [ arg ("," arg)* ] ")" ]
    arg   := [ NAME "=" ] value
    value := "[" [ value ("," value)* ] "]"  |  spec  |  ATOM        (numbers and words like 1-sqrt)

The tree: a ``Call`` for ``name(...)``, a ``list`` for ``[...]``, a ``str`` for an atom (a bare name such as
``cosine`` is an atom too; the registry decides that it names a schedule).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Union

__all__ = ["Call", "Node", "parse_tree", "split_steps"]

_TOKEN = re.compile(r"\s*(?:([A-Za-z0-9_.+\-]+)|(.))")


@dataclass(frozen=True)
class Call:
    """``name(args..., key=value...)`` in a spec."""

    name: str
    args: list[Node] = field(default_factory=list)
    kwargs: dict[str, Node] = field(default_factory=dict)


Node = Union[Call, list, str]  # noqa: UP007 (a runtime alias, read by Python 3.10 too)


def parse_tree(text: str) -> Node:
    """The tree of a spec, e.g. ``warmup(cosine(floor=0.1),fraction=0.05)``; ``ValueError`` with the position."""
    if not isinstance(text, str):
        raise ValueError(f"a schedule spec must be a string, got {type(text).__name__}")
    return _Parser(text).parse()


def split_steps(text: str) -> tuple[str, int | None]:
    """``SPEC@STEPS`` -> ``(SPEC, STEPS)``, ``SPEC`` -> ``(SPEC, None)``: the run notation of the command line (a spec
    has no ``@``); ``ValueError`` when STEPS is not an integer (the caller names the option)."""
    spec, at, steps_text = text.rpartition("@")
    if not at:
        return text, None
    try:
        return spec, int(steps_text)
    except ValueError:
        raise ValueError(f"STEPS after '@' must be an integer, got {steps_text!r}") from None


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

    def value(self) -> Node:
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
            return self.call(word)
        return word

    def call(self, name: str) -> Call:
        self.take("(")
        node = Call(name)
        if self.peek() != ")":
            while True:
                if self.i + 1 < len(self.tokens) and self.tokens[self.i + 1][0] == "=":
                    key = self.take()
                    self.take("=")
                    if key in node.kwargs:
                        raise self.error(f"argument {key!r} given twice")
                    node.kwargs[key] = self.value()
                else:
                    if node.kwargs:
                        raise self.error("positional argument after keyword argument")
                    node.args.append(self.value())
                if self.peek() == ",":
                    self.take(",")
                    continue
                break
        self.take(")")
        return node

    def parse(self) -> Node:
        if not self.tokens:
            raise ValueError("malformed schedule spec '': empty")
        tree = self.value()
        if self.peek() is not None:
            raise self.error(f"unexpected {self.peek()!r}")
        return tree
