"""What a run is: ``BenchConfig``, stored as JSON with the run (``runs.config``) so that ``--resume`` replans the
same trials, and read back as the ``config`` of a ``rows.RunRow``."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from ...limits import check_seeds
from ..catalog.suites import get_suite, run_tuning_measures
from ..catalog.tuning import check_resolution

__all__ = ["BenchConfig"]


@dataclasses.dataclass
class BenchConfig:
    """What a run is; stored as JSON in ``runs.config`` so that ``--resume`` replans the same trials."""

    suite: str
    workloads: list[str]
    methods: list[str]
    seeds: int
    overrides: dict[str, dict[str, Any]]  # per workload reference, including the target used
    use_targets: bool = True
    environment: dict[str, Any] | None = None  # where the run started: device, its name, torch, CUDA (device.py)
    lr_resolution: float | None = None  # method-fair tuning's factor (lr_bracketing); None: the grid only
    # the measures whose best lrs are bracketed, the first also choosing a prior trial (lr_bracketing); None: the
    # suite's (a stored run always has them: ``schema.migrate``)
    tune_by: list[str] | None = None
    # workload name -> the hash of the data it trained on (``Workload.data_hash``), recorded when the run starts, so
    # that targets set from the run later name its data, not the data of the machine that sets them; None: a run
    # stored before they were recorded (``set_targets`` then hashes the data where it runs)
    data_hashes: dict[str, str] | None = None
    # method name -> what the report says of it without the live registry (``Method.info``: description, grid,
    # prior); set when the run starts (``schema.migrate`` gives a run stored before it the registry's)
    method_info: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        self.tune_by = list(run_tuning_measures(self.suite, self.tune_by))

    @classmethod
    def from_options(
        cls,
        suite: str,
        workloads: Sequence[str] | None = None,
        methods: Sequence[str] | None = None,
        seeds: int | None = None,
        use_targets: bool = True,
        lr_resolution: float | None | str = "suite",
    ) -> BenchConfig:
        """``lr_resolution``: method-fair tuning's factor (``lr_bracketing``), ``None`` for the grid only, or
        ``"suite"`` for the suite's own (``Suite.lr_resolution``)."""
        definition = get_suite(suite)
        refs = list(workloads or definition.workloads)
        overrides = {ref: dict(definition.workloads.get(ref, {})) for ref in refs}
        check_seeds(seeds)
        if lr_resolution == "suite":
            lr_resolution = definition.lr_resolution
        if lr_resolution is not None:
            lr_resolution = check_resolution(lr_resolution)
        methods = list(methods or definition.methods)
        return cls(suite, refs, methods, seeds or definition.seeds, overrides, use_targets, lr_resolution=lr_resolution)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
