"""One kind of name registry for the whole package: schedules, methods, optimizers, workloads, suites, laws.

A :class:`Registry` maps a name to a thing, keeps the order names were added, refuses a second thing under a name
already taken (a silent overwrite hid typos and double registrations), and says what is known when a name is not.
It behaves as a read-only mapping, so ``name in registry``, ``registry[name]``, iteration and ``len`` work as on a
dict.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Generic, TypeVar

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Mapping[str, T], Generic[T]):
    """Names -> things of one kind (``kind`` names them in errors: "schedule", "method", ...)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def add(self, name: str, item: T) -> T:
        """Register ``item`` under ``name``; a name already taken is a ``ValueError``. Returns ``item``."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"{self.kind} name must be a non-empty string, got {name!r}")
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._items[name] = item
        return item

    def get_known(self, name: str) -> T:
        """The thing registered as ``name``, or a ``ValueError`` that lists the known names."""
        if name not in self._items:
            raise ValueError(f"unknown {self.kind} {name!r}; known: {', '.join(self._items)}")
        return self._items[name]

    def remove(self, name: str) -> T:
        """Unregister ``name`` (tests and user code that registered something temporarily)."""
        return self._items.pop(name)

    def __getitem__(self, name: str) -> T:
        return self._items[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {list(self._items)})"
