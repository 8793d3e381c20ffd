"""A schedule given by its values over progress ``p in [0, 1]``: what refinement and the free-form optimisers return."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ._base import Schedule, load_schedule
from .params import FLOATS, Param

__all__ = ["Tabulated"]


def _finite_non_negative(values: tuple[float, ...]) -> str | None:
    arr = np.asarray(values)
    if arr.size < 2:
        return f"must hold at least 2 values (got {arr.size})"
    bad = ~np.isfinite(arr)
    if bad.any():
        return f"must be finite: {int(bad.sum())} non-finite value(s), first at index {int(np.argmax(bad))}"
    if (arr < 0).any():
        return f"must be >= 0: {int((arr < 0).sum())} negative value(s), first at index {int(np.argmax(arr < 0))}"
    return None


class Tabulated(Schedule):
    """Values ``v_0..v_{n-1}`` at progress ``i / (n - 1)``; any horizon by linear interpolation in ``t / T``.

    ``m(t, T) = interp(t / T, linspace(0, 1, n), v)``. A table of a closed-form schedule sampled at ``n`` points
    reproduces it within the interpolation error; a linear table is exact at every horizon. ``meta`` (free-form,
    e.g. how a refined schedule was made) is saved with the JSON but is not part of the spec.
    """

    name = "tabulated"
    non_increasing = False
    value_range = (0.0, float("inf"))
    params = (Param("values", FLOATS, check=_finite_non_negative),)

    def __init__(self, values: Any, meta: dict[str, Any] | None = None) -> None:
        arr = np.asarray(values, dtype=float)
        if arr.ndim != 1:
            raise ValueError(f"tabulated: values must be a 1-D array, got shape {arr.shape}")
        object.__setattr__(self, "meta", dict(meta or {}))
        super().__init__(values=arr)

    def _set_arguments(self, given: dict[str, Any]) -> None:
        super()._set_arguments(given)
        if "meta" not in self.__dict__:  # built from a spec: no meta
            object.__setattr__(self, "meta", {})
        table = np.asarray(self._args["values"], dtype=float)
        object.__setattr__(self, "_array", table)
        object.__setattr__(self, "_grid", np.linspace(0.0, 1.0, len(table)))

    def _eval(self, t: np.ndarray, T: int) -> np.ndarray:
        return np.interp(t / T, self._grid, self._array)

    @property
    def array(self) -> np.ndarray:
        return self._array.copy()

    def resample(self, n: int) -> Tabulated:
        """The same schedule as a table of ``n`` points (``n >= 2``)."""
        if int(n) < 2:
            raise ValueError(f"tabulated: resample n={n!r} must be >= 2")
        return Tabulated(np.interp(np.linspace(0, 1, int(n)), self._grid, self._array), self.meta)

    @classmethod
    def from_schedule(cls, schedule: Schedule, total_steps: int) -> Tabulated:
        """Tabulates ``schedule`` at the ``T + 1`` steps ``0..T`` of a horizon ``T``."""
        return cls(schedule.values(total_steps, endpoint=True), {"source": schedule.spec})

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        if self.meta:
            out["meta"] = self.meta
        return out

    def save(self, path: str | Path) -> Path:
        from ..output_files import write_text_atomic

        return write_text_atomic(path, json.dumps(self.to_dict(), indent=1) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> Tabulated:
        schedule = load_schedule(Path(path))
        if not isinstance(schedule, Tabulated):
            raise ValueError(f"{path}: holds a '{schedule.name}' schedule, not a tabulated one")
        return schedule
