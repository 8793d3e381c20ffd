"""The store's rows, typed, as written and as read.

A trial writes ``TrialStart``, then one ``Measurement`` per evaluation, then ``TrialFinish``
(``runner.run_trial``). The local executor's trial processes write each row as it exists; a remote executor
(Ray) gets the list back and replays it with ``Store.write_rows``. Reading gives ``Trial`` (a ``trials`` row:
the fields of ``TrialStart`` and ``TrialFinish`` and ``finished``), ``Measurement`` and ``RunRow``. Field names are
the columns of the store's tables, in their order (``schema``; ``tests/bench/test_schema.py`` ties them).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from typing import Any

from .run_config import BenchConfig

__all__ = ["Measurement", "RunRow", "StoreRow", "Trial", "TrialFinish", "TrialStart"]


@dataclasses.dataclass(frozen=True)
class TrialStart:
    """The ``trials`` row of a trial as it starts (status 'running'), with everything the scoring reads about its
    workload: the metric's name and direction, the target and the step budget."""

    trial_id: str
    run_id: str
    workload: str  # the workload's name (not the reference it was loaded from)
    method: str
    peak_lr: float | None
    seed: int
    schedule: str | None
    optimizer: str
    metric_name: str
    higher_is_better: bool
    target: float | None
    budget_steps: int
    prior_trial_id: str | None = None
    prior_seconds: float = 0.0
    prior_steps: int = 0
    started: float = dataclasses.field(default_factory=time.time)

    def columns(self) -> dict[str, Any]:
        """The row as ``trials`` columns (``higher_is_better`` as 0/1, SQLite's boolean)."""
        columns = dataclasses.asdict(self)
        columns["higher_is_better"] = int(self.higher_is_better)
        return columns


@dataclasses.dataclass(frozen=True)
class Measurement:
    """One evaluation of a trial: a ``measurements`` row (``extra``: the other metrics ``evaluate`` returned)."""

    trial_id: str
    step: int
    train_seconds: float
    train_loss: float | None  # mean training loss since the previous evaluation; None at step 0
    metric: float | None  # None as read: a NaN metric (SQLite stores NaN as NULL)
    lr: float
    extra: dict[str, float] | None = dataclasses.field(default_factory=dict)

    def columns(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class TrialFinish:
    """The result columns of a finished trial: status ``'done'`` or ``'failed'`` (with its ``error``); times to
    target are ``None`` for a miss, and every result is ``None`` for a failed trial."""

    trial_id: str
    status: str
    error: str | None = None
    train_seconds: float | None = None
    steps_to_target: int | None = None
    seconds_to_target: float | None = None
    final_metric: float | None = None
    train_cpu_seconds: float | None = None  # the trial process's CPU time over the training steps
    cpu_seconds_to_target: float | None = None

    def __post_init__(self) -> None:
        if self.status not in ("done", "failed"):
            raise ValueError(f"status={self.status!r}: a finished trial is 'done' or 'failed'")

    def result_columns(self) -> dict[str, Any]:
        """The ``trials`` columns this row sets (all but ``trial_id``)."""
        columns = dataclasses.asdict(self)
        del columns["trial_id"]
        return columns


StoreRow = TrialStart | Measurement | TrialFinish


@dataclasses.dataclass(frozen=True)
class Trial:
    """A ``trials`` row as read: what ``TrialStart`` wrote, the results ``TrialFinish`` set (``None`` while the
    trial is 'running', and for a failed trial), and when it finished."""

    trial_id: str
    run_id: str
    workload: str
    method: str
    peak_lr: float | None
    seed: int
    schedule: str | None
    optimizer: str
    status: str  # 'running', 'done' or 'failed'
    error: str | None
    metric_name: str
    higher_is_better: bool
    target: float | None
    budget_steps: int
    steps_to_target: int | None
    seconds_to_target: float | None
    final_metric: float | None
    train_seconds: float | None
    prior_trial_id: str | None
    prior_seconds: float
    prior_steps: int
    started: float
    finished: float | None
    train_cpu_seconds: float | None
    cpu_seconds_to_target: float | None

    @classmethod
    def from_columns(cls, columns: Mapping[str, Any]) -> Trial:
        """The row from its ``trials`` columns (``higher_is_better`` stored as 0/1)."""
        return cls(**{**columns, "higher_is_better": bool(columns["higher_is_better"])})


@dataclasses.dataclass(frozen=True)
class RunRow:
    """A ``runs`` row as read: the run's id, when it was created (Unix time), its suite and what it is."""

    run_id: str
    created: float
    suite: str
    config: BenchConfig
