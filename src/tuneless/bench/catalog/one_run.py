"""The self-tuning track's methods (issue #26): one trial per workload and seed, nothing tuned on the workload.

A pilot runs inside the trial, so its steps and seconds are the trial's. Every constant comes from the calibration
table (``tuneless.auto.calibration``) with the workload's own rows left out. Registered after ``methods``' own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .methods import Method, TrialConfig, _warmup, register_method
from .optimizers import parse_optimizer_spec
from .workload import Workload

__all__ = ["ONE_RUN_OPTIMIZERS", "one_run_optimizer"]


def _auto_scheduler(method: str, schedule: str) -> Callable[[Any, Workload, int], Any]:
    def scheduler(optimizer: Any, workload: Workload, budget: int) -> Any:
        from ...torch.auto import AutoLR

        return AutoLR(
            optimizer, budget, workload.optimizer_family, schedule=schedule, method=method, exclude=workload.name
        )

    return scheduler


# the optimizer a one-run method's pilot and run use, by the grid method whose best lrs calibrate it (the calibration
# runs its pilots with the same optimizers: benchmarks/auto_calibration.py); schedule-free gets its warmup from the
# scheduler, so that its own warmup does not damp the pilot's ramp
ONE_RUN_OPTIMIZERS: dict[str, Mapping[str, str] | None] = {
    "linear": None,  # the workload's own
    "cosine": None,
    "schedulefree": {"sgd": "schedulefree_sgd(momentum=0.9)", "adam": "schedulefree_adamw"},
}


def one_run_optimizer(calibrated_on: str, workload: Workload) -> str:
    """The optimizer spec of a one-run method calibrated on the grid method ``calibrated_on``, for ``workload``."""
    by_family = ONE_RUN_OPTIMIZERS[calibrated_on]
    return workload.optimizer if by_family is None else by_family[workload.optimizer_family]


def _one_trial(label: str, calibrated_on: str) -> Callable[[Workload], Sequence[TrialConfig]]:
    """One trial at relative lr 1.0 (the method's scheduler sets the lr)."""

    def configs(workload: Workload) -> list[TrialConfig]:
        return [TrialConfig(1.0, one_run_optimizer(calibrated_on, workload), "constant", label=label)]

    return configs


def _control_configs(workload: Workload) -> list[TrialConfig]:
    """The control: the family's calibrated peak lr (leave-one-workload-out), linear decay, one trial."""
    from ...auto.calibration import constants, load_rows

    lr = constants(load_rows(), workload.optimizer_family, exclude=workload.name).control_lr
    return [TrialConfig(lr, workload.optimizer, _warmup("linear"), label="control")]


def _mechanic_short_run(label: str) -> Callable[[Workload], Sequence[TrialConfig]]:
    """One trial: Mechanic (``tuneless.torch.auto.MECHANIC_SHORT_RUN``: restart at 10x, frozen after a quarter of the
    budget) over the workload's own optimizer, linear decay, peak 1.0."""

    def configs(workload: Workload) -> list[TrialConfig]:
        from ...torch.auto import MECHANIC_SHORT_RUN

        name, kwargs = parse_optimizer_spec(workload.optimizer)
        arguments = ",".join(f"{k}={v!r}" for k, v in {**kwargs, **MECHANIC_SHORT_RUN}.items())
        return [TrialConfig(1.0, f"mechanic_{name}({arguments})", _warmup("linear"), label=label)]

    return configs


for _method in (
    Method(
        "control",
        "calibrated default: one peak lr per optimizer family (geometric median of the other workloads' best "
        "linear-decay lrs), linear decay; 1 trial",
        configs=_control_configs,
    ),
    Method(
        "auto",
        "tuneless.auto.AutoLR: a pilot of 10% of the budget (lr range test) finds the cap and min-loss lr, then "
        "linear decay at min(c_cap cap, c_min min-loss lr), constants calibrated leave-one-workload-out; 1 trial",
        configs=_one_trial("auto", "linear"),
        scheduler=_auto_scheduler("linear", _warmup("linear")),
    ),
    Method(
        "auto-schedulefree",
        "schedule-free SGD / AdamW at a peak lr from the same pilot (constants calibrated on schedule-free's grid, "
        "leave-one-workload-out); no horizon needed after the pilot; 1 trial",
        configs=_one_trial("auto-schedulefree", "schedulefree"),
        scheduler=_auto_scheduler("schedulefree", _warmup("constant")),
    ),
    Method(
        "mechanic-freeze",
        "Mechanic over the workload's optimizer, restarted each time its scale grew 10x and frozen after 25% of "
        "the run (tuneless' short-run options); linear decay, peak 1.0; 1 trial",
        configs=_mechanic_short_run("mechanic-freeze"),
    ),
    Method(
        "auto-mechanic",
        "mechanic-freeze seeded by AutoLR's pilot: the pilot (10% of the budget) runs the base optimizer, Mechanic "
        "then starts at a tenth of the pilot's min-loss lr instead of 1e-8; linear decay, peak 1.0; 1 trial",
        configs=_mechanic_short_run("auto-mechanic"),
        scheduler=_auto_scheduler("mechanic", _warmup("linear")),
    ),
):
    register_method(_method)
