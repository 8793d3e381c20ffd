"""Upper limits on what the ``tuneless`` command accepts, so that a typo (``--steps 100000000000``) is a one-line
error instead of minutes of work or an out-of-memory crash. docs/schedules.md and docs/bench.md list them.

* :data:`MAX_STEPS`: total steps of a schedule the command tabulates (``schedules values/plot --steps``,
  ``predict --steps`` and ``--fit FILE:SPEC@STEPS``): each step is one float64 (10^7 steps: 80 MB per array).
  The library itself has no such limit (a schedule is a function of the step).
* :data:`MAX_SEEDS`: seeds per trial configuration in ``tuneless bench --seeds``.
* :data:`MAX_SPEC_DEPTH`: nesting depth of a schedule spec (``warmup(join(...))``): real specs nest two or three
  levels; the parser is recursive.
"""

from __future__ import annotations

__all__ = ["MAX_SEEDS", "MAX_SPEC_DEPTH", "MAX_STEPS", "check_seeds", "check_spec_depth", "check_steps"]

MAX_STEPS = 10_000_000
MAX_SEEDS = 1_000
MAX_SPEC_DEPTH = 32


def check_steps(value: int, option: str) -> int:
    """Refuses more than :data:`MAX_STEPS` (the lower bound is the schedule's to check)."""
    if value > MAX_STEPS:
        raise ValueError(f"{option} {value}: at most {MAX_STEPS:,} steps")
    return value


def check_seeds(value: int | None, option: str = "seeds") -> int | None:
    if value is not None and not 1 <= value <= MAX_SEEDS:
        raise ValueError(f"{option} {value}: must be in [1, {MAX_SEEDS:,}]")
    return value


def check_spec_depth(spec: str, option: str) -> str:
    """Refuses a spec whose brackets nest deeper than :data:`MAX_SPEC_DEPTH`."""
    depth = deepest = 0
    for char in spec:
        if char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth -= 1
    if deepest > MAX_SPEC_DEPTH:
        shown = spec if len(spec) <= 40 else spec[:37] + "..."
        raise ValueError(f"{option} {shown!r}: nested {deepest} levels deep; at most {MAX_SPEC_DEPTH} allowed")
    return spec
