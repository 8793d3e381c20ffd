"""What a run stored by an older tuneless lacks, filled in when it is read (one place for such defaults).

``method_info`` (what the report says of each method: ``catalog.methods.Method.info``) is stored with every run
since the report stopped reading the live method registry; for a run stored before, it is made from the registry
for the methods of its trials, as the report of that time made it (a method not registered here gets none).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["method_info"]


def method_info(config: Mapping[str, Any], methods_in_run: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The run's stored ``method_info``, or for a run stored before it was recorded the registry's."""
    stored = config.get("method_info")
    if stored is not None:
        return dict(stored)
    from ..catalog.methods import METHODS

    return {name: METHODS[name].info() for name in methods_in_run if name in METHODS}
