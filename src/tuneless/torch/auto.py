"""``AutoLR``: one run, no sweep. A pilot finds where training breaks; the run uses a calibrated fraction of it.

The run has two phases, driven by one scheduler:

1. **Pilot** (``pilot_steps``, at most 10% of the run): the lr rises geometrically over the family's range
   (``tuneless.auto.pilot``); the scheduler watches each step's loss and notes the first lr at which the loss is not
   finite or above 1.5x the untrained loss (the *cap*). Later pilot steps run at lr 0. At the pilot's end the
   weights and the optimizer state go back to what they were before it (and the model's buffers, when the model
   is given), so the pilot leaves no trace but its measurement.
2. **Run** (``run_steps``): the schedule (default: 5% warmup, then linear decay to zero) at peak
   ``ratio * cap``, ``ratio`` calibrated per optimizer family on the benchmark's grid results
   (``tuneless.auto.calibration``).

The loop runs ``total_steps = pilot_steps + run_steps`` optimizer steps and passes each step's loss:
``scheduler.step(loss)`` after ``optimizer.step()``. A framework that calls ``step()`` itself (Trainer) is given each
step's loss first, with ``set_step_loss``. The pilot cannot do without the loss: the cap is where the loss rises.
``AutoLR.within(optimizer, steps, family)`` fits pilot and run into a framework's fixed number of optimizer steps.
The optimizer's lrs are relative factors only: each param group's lr is its ``lr`` divided by the largest group's,
times the multiplier (the multiplier is the lr itself for the largest group).

With ``Mechanic`` (``tuneless.torch.Mechanic``, ideally with its short-run options ``restart_factor=10``,
``freeze_after=T//4``) the pilot seeds the learned scale instead of fixing a peak lr: the pilot steps go through
Mechanic to its base optimizer unchanged (``Mechanic.paused``), and the run starts Mechanic at scale ``ratio *
min-loss lr`` (``MECHANIC_SEED``: a tenth of the min-loss lr) under the schedule at peak 1.0; Mechanic learns the
scale from there. A pilot that never becomes unstable seeds it the same way (Mechanic corrects the scale).

Resume: ``state_dict()`` during the pilot holds the pre-pilot snapshot (a copy of the parameters, buffers and
optimizer state), so a checkpoint saved during the pilot resumes it exactly; after the pilot it is plain numbers.

Fallback: a pilot that never becomes unstable (the loss never rises above 1.5x the untrained one, even at the top of
the range) runs at the family's calibrated control lr, with a warning. A pilot whose loss is not finite at its
smallest lrs raises ``ValueError`` at the step that shows it (the model or the loss is broken, no lr helps).
"""

from __future__ import annotations

import copy
import math
import numbers
import warnings
from collections.abc import Mapping
from typing import Any

import torch

from ..auto.calibration import constants, load_rows
from ..auto.pilot import (
    FAMILIES,
    FEATURES,
    MIN_PILOT_STEPS,
    PILOT_FRACTION,
    REFERENCE_STEPS,
    Pilot,
    PilotResult,
    check_family,
    is_unstable,
    min_loss_lr,
    stability_cap,
)
from ..schedules import Schedule, as_schedule
from ..schedules._base import check_total_steps
from .mechanic import Mechanic
from .scheduler import MultiplierLR

__all__ = [
    "DEFAULT_SCHEDULE",
    "MECHANIC_SEED",
    "MECHANIC_SHORT_RUN",
    "ONE_RUN_METHODS",
    "AutoLR",
    "check_one_run_method",
    "one_run_schedule",
    "prepare_one_run",
    "one_run",
    "optimizer_family",
    "short_run_mechanic",
]

#: the run's shape after the pilot: the benchmark's linear decay (5% warmup)
DEFAULT_SCHEDULE = "warmup(linear,fraction=0.05)"
#: a Mechanic's starting scale as a fraction of the pilot's features: a tenth of the min-loss lr. Chosen on the quick
#: suite's 14 logistic regressions at 300 steps, seeds 0-1 (0.03 and 0.3 scored within noise of it: Mechanic moves the
#: scale); docs/auto.md says where it was checked out of sample. Not calibrated per workload: no grid sets it.
MECHANIC_SEED = {"min_loss": 0.1}
#: Mechanic's short-run options (docs/auto.md, "Learned scales at short horizons"): restart the tuner each time the
#: scale has grown 10x; freeze the scale after a quarter of the run (``AutoLR(freeze_fraction=...)``, counted from the
#: pilot's end). Chosen with ``mechanic-freeze`` on the quick suite; the benchmark's ``auto-mechanic`` runs them.
MECHANIC_SHORT_RUN = {"restart_factor": 10.0, "freeze_fraction": 0.25}
#: ``one_run``'s methods, the default first: ``"mechanic"`` (the pilot seeds a short-run Mechanic's scale; the
#: benchmark's ``auto-mechanic``), ``"linear"`` (a fixed peak at the calibrated fraction of the pilot's lrs, linear
#: decay; the benchmark's ``auto``), ``"schedulefree"`` (the same for a schedule-free optimizer, warmup then constant:
#: ``one_run_schedule``)
ONE_RUN_METHODS = ("mechanic", "linear", "schedulefree")
#: run steps after which a Mechanic that was not stepped once is an error (the optimizer inside it was stepped instead
#: of the Mechanic); not 1: a mixed-precision GradScaler skips the steps whose gradients overflow. Runs shorter than
#: this are not checked.
MECHANIC_STEP_GRACE = 10


def check_one_run_method(method: Any, name: str = "method") -> str:
    """``method`` if it is one of ``ONE_RUN_METHODS``, else a one-line ``ValueError`` naming the argument ``name``."""
    if not isinstance(method, str) or method not in ONE_RUN_METHODS:
        raise ValueError(f"{name}={method!r} is unknown; one run knows {list(ONE_RUN_METHODS)} (default 'mechanic')")
    return method


def one_run_schedule(method: str) -> str:
    """The run's shape after the pilot for ``method``: 5% warmup, then linear decay (``DEFAULT_SCHEDULE``); for
    ``"schedulefree"`` 5% warmup, then constant (schedule-free averaging needs no decay; the benchmark's)."""
    return "warmup(constant,fraction=0.05)" if method == "schedulefree" else DEFAULT_SCHEDULE


def unwrapped(optimizer: Any) -> Any:
    """The optimizer inside framework wrappers (accelerate's ``AcceleratedOptimizer``, Lightning's
    ``LightningOptimizer``: their ``.optimizer``); a ``Mechanic`` is not looked through."""
    while isinstance(getattr(optimizer, "optimizer", None), torch.optim.Optimizer):
        optimizer = optimizer.optimizer
    return optimizer


def optimizer_family(optimizer: Any) -> str:
    """The AutoLR family of an optimizer, from its class name (a wrapper's ``.optimizer`` is looked through):
    ``"adam"`` for Adam-type ones (Adam, AdamW, NAdam, RAdam, NAdamW, AdamWScheduleFree), ``"sgd"`` for SGD-type
    ones (SGD, SGDScheduleFree); a ``Mechanic`` has its base optimizer's family. Any other optimizer is a
    ``ValueError``: pass ``family=`` explicitly."""
    optimizer = unwrapped(optimizer)
    while isinstance(optimizer, Mechanic):
        optimizer = unwrapped(optimizer.base)
    name = type(optimizer).__name__
    found = [family for family in FAMILIES if family in name.lower()]
    if len(found) != 1:
        raise ValueError(
            f"optimizer {name}: AutoLR cannot tell its family; pass family= one of {list(FAMILIES)} "
            "(Adam-type optimizers: 'adam')"
        )
    return found[0]


class AutoLR(MultiplierLR):
    """A pilot (lr range test as a stability cap) then one run at a calibrated fraction of the cap.

    Args:
        optimizer: any ``torch.optim.Optimizer`` of the family; its groups' ``lr`` are relative factors (1.0).
        total_steps: the run's horizon ``T`` after the pilot (``run_steps``); the loop runs ``self.total_steps``.
        family: ``"sgd"`` (SGD, momentum SGD, schedule-free SGD) or ``"adam"`` (Adam, AdamW, NAdamW, ...).
        schedule: the run's shape (a schedule, spec string or JSON path); default 5% warmup + linear decay.
        method: which calibrated ratio to use (the grid method whose best lrs it was fitted on: ``"linear"``, the
            default; ``"schedulefree"`` for a schedule-free optimizer with ``schedule="constant"``); a ``Mechanic``
            optimizer takes ``"mechanic"`` (its default there), the seed ``MECHANIC_SEED``.
        ratio: the peak lr (a ``Mechanic``'s starting scale) as ``min_f ratio[f] * pilot feature f`` (features
            ``"cap"``, ``"min_loss"``); a number is a fraction of the cap. Default: calibrated, see
            ``tuneless.auto.calibration`` (a ``Mechanic``: ``MECHANIC_SEED``).
        model: the model, to restore its buffers (BatchNorm statistics) after the pilot too.
        exclude: a workload whose calibration rows are left out (the benchmark's leave-one-workload-out).
        pilot_fraction: the pilot's share of ``total_steps`` (default 0.1; at least 10 steps).
        pilot_steps: the pilot's length in steps instead (at least 10; ``AutoLR.within`` uses it).
        freeze_fraction: with a ``Mechanic``, freeze its scale after this fraction of the run (``run_steps``, counted
            from the pilot's end): sets its ``freeze_after`` to ``max(1, round(freeze_fraction * run_steps))``.

    The optimizer's lrs only say how the param groups relate: each group runs at its ``lr`` over the largest
    group's ``lr`` (1.0 for every group of an optimizer built with one ``lr``), times the multiplier.
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        total_steps: int,
        family: str,
        *,
        schedule: Schedule | str = DEFAULT_SCHEDULE,
        method: str | None = None,
        ratio: float | Mapping[str, float] | None = None,
        model: torch.nn.Module | None = None,
        exclude: str | None = None,
        pilot_fraction: float = PILOT_FRACTION,
        pilot_steps: int | None = None,
        freeze_fraction: float | None = None,
    ) -> None:
        self.family = check_family(family)
        self.run_steps = check_total_steps(total_steps)
        self.schedule = as_schedule(schedule)
        self.schedule(0, self.run_steps)  # horizon checks (warmup < T) fail here
        self.pilot = Pilot.for_run(self.run_steps, self.family, pilot_fraction)
        if pilot_steps is not None:
            self.pilot = Pilot(self.pilot.lo, self.pilot.hi, pilot_steps)
        self.pilot_steps = self.pilot.steps
        self.total_steps = self.pilot_steps + self.run_steps
        inner = optimizer = unwrapped(optimizer)  # a framework's wrapper may not forward load_state_dict (Lightning's)
        self.mechanic: Mechanic | None = inner if isinstance(inner, Mechanic) else None  # (also inside a wrapper)
        if method is None:
            method = "mechanic" if self.mechanic is not None else "linear"
        if (self.mechanic is not None) != (method == "mechanic"):
            raise ValueError(
                f"method={method!r} with {type(inner).__name__}: the method 'mechanic' goes with a Mechanic "
                "optimizer, and a Mechanic with it (its pilot seeds the learned scale)"
            )
        self.method = method
        self.ratio, self._fallback_lr = self._ratio(ratio, exclude)
        self._freeze(freeze_fraction)
        self.model = model
        self.losses: list[float] = []
        self.result: PilotResult | None = None
        self.peak_lr: float | None = None
        self.seed_scale: float | None = None  # a Mechanic's starting scale, set at the pilot's end
        self._step_loss: Any = None
        super().__init__(optimizer)
        top = max(self.base_lrs)
        if not (math.isfinite(top) and top > 0):
            raise ValueError(f"optimizer lrs {self.base_lrs}: AutoLR needs finite relative lrs, the largest > 0")
        self.base_lrs = [base / top for base in self.base_lrs]
        if not self._restored:
            self._apply()
        self._snapshot = self._take_snapshot()
        if self.mechanic is not None:
            self.mechanic.paused = self.in_pilot

    def _ratio(self, ratio: float | Mapping[str, float] | None, exclude: str | None) -> tuple[dict[str, float], float]:
        """The ratio per pilot feature (given, ``MECHANIC_SEED``, or the calibration's for ``self.method`` without
        workload ``exclude``) and the fallback lr of a pilot that never became unstable (calibrated ratios only)."""
        fallback = math.nan
        if ratio is None and self.mechanic is not None:
            ratio = dict(MECHANIC_SEED)
        elif ratio is None:
            found = constants(load_rows(), self.family, exclude=exclude)
            if self.method not in found.ratio:
                raise ValueError(f"method={self.method!r} has no calibrated ratio; calibrated: {sorted(found.ratio)}")
            ratio, fallback = dict(found.ratio[self.method]), found.control_lr
        elif isinstance(ratio, (int, float)):
            ratio = {"cap": ratio}
        if not ratio or not all(isinstance(r, (int, float)) and math.isfinite(r) and r > 0 for r in ratio.values()):
            raise ValueError(f"ratio={ratio!r}: need finite numbers > 0 (a number scales the cap)")
        unknown = sorted(set(ratio) - set(FEATURES))
        if unknown:
            raise ValueError(f"ratio={ratio!r}: unknown pilot features {unknown}; the pilot measures {list(FEATURES)}")
        return {str(f): float(r) for f, r in ratio.items()}, fallback

    def _freeze(self, fraction: float | None) -> None:
        """Set the Mechanic's ``freeze_after`` to ``fraction`` of the run (``None``: leave it)."""
        if fraction is None:
            return
        if self.mechanic is None:
            raise ValueError(f"freeze_fraction={fraction!r} freezes a Mechanic's scale; this optimizer is no Mechanic")
        if isinstance(fraction, bool) or not (isinstance(fraction, numbers.Real) and 0 < fraction <= 1):
            raise ValueError(f"freeze_fraction={fraction!r}: need a number in (0, 1]")
        self.mechanic.freeze_after = _freeze_after(float(fraction), self.run_steps)

    @classmethod
    def within(cls, optimizer: torch.optim.Optimizer, steps: int, family: str, **kwargs: Any) -> AutoLR:
        """An ``AutoLR`` whose pilot and run take ``steps`` optimizer steps together (``total_steps == steps``): for
        a framework that runs a fixed number of steps (Trainer's ``max_steps``, Lightning's
        ``estimated_stepping_batches``). The run is the longest ``T`` whose own pilot (``AutoLR(optimizer, T)``'s: 10%
        of ``T``, at least 10 steps) fits beside it; where ``T`` plus its pilot falls one step short of ``steps``, the
        pilot takes that step too. Needs ``steps >= 11``; other arguments as ``AutoLR``'s.
        """
        pilot, run = cls.split(steps, family, kwargs.pop("pilot_fraction", PILOT_FRACTION))
        return cls(optimizer, run, family, pilot_steps=pilot, **kwargs)

    @staticmethod
    def split(steps: int, family: str, pilot_fraction: float = PILOT_FRACTION) -> tuple[int, int]:
        """``(pilot_steps, run_steps)`` of ``AutoLR.within(optimizer, steps, family)``."""
        steps = check_total_steps(steps)
        family = check_family(family)
        if steps <= MIN_PILOT_STEPS:
            raise ValueError(
                f"steps={steps}: AutoLR needs at least {MIN_PILOT_STEPS + 1} optimizer steps (a pilot of "
                f"{MIN_PILOT_STEPS} and a run of 1)"
            )

        def total(run: int) -> int:
            return run + Pilot.for_run(run, family, pilot_fraction).steps

        low, high = 1, steps - MIN_PILOT_STEPS  # total(low) <= steps; the longest run that fits is in low..high
        while low < high:
            middle = (low + high + 1) // 2
            low, high = (middle, high) if total(middle) <= steps else (low, middle - 1)
        return steps - low, low

    # --- the multiplier --------------------------------------------------------------------------------------------
    def multiplier(self, step: int | None = None) -> float:
        t = self.last_epoch if step is None else step
        if t < self.pilot_steps:
            seen = self.result is not None and self.result.unstable and t > self.result.step
            return 0.0 if seen else self.pilot.lr(t)
        if self.peak_lr is None:  # only before load_state_dict of a finished pilot
            return 0.0
        run_step = min(t - self.pilot_steps, self.run_steps)
        return self.peak_lr * float(self.schedule(run_step, self.run_steps))

    @property
    def in_pilot(self) -> bool:
        """True while the next optimizer step is a pilot step (its loss is the pilot's, not the run's)."""
        return self.last_epoch < self.pilot_steps

    # --- stepping --------------------------------------------------------------------------------------------------
    def set_step_loss(self, loss: Any) -> None:
        """The loss of the optimizer step now running, for the ``step()`` after it: for a framework that calls
        ``step()`` without arguments (a later call before that ``step()`` replaces it; after the pilot it is not
        kept)."""
        self._step_loss = loss if self.in_pilot else None

    def step(self, loss: Any = None) -> None:  # type: ignore[override]
        """Call after ``optimizer.step()`` with that step's loss (a tensor or a number; needed during the pilot), or
        without it after ``set_step_loss``."""
        if loss is None:
            loss, self._step_loss = self._step_loss, None
        if 0 <= self.last_epoch < self.pilot_steps:  # (-1: torch's constructor takes the first step)
            if loss is None:
                raise ValueError(
                    "AutoLR.step(loss): the pilot needs each step's loss (scheduler.step(loss)); where a framework "
                    "calls step() itself, give it first with scheduler.set_step_loss(loss)"
                )
            self._observe(float(loss.detach()) if isinstance(loss, torch.Tensor) else float(loss))
        elif (
            self.mechanic is not None
            and self.last_epoch == self.pilot_steps + MECHANIC_STEP_GRACE - 1
            and self.mechanic.unpaused_calls == 0
        ):
            raise RuntimeError(
                f"AutoLR: its Mechanic was not stepped in the {MECHANIC_STEP_GRACE} steps after the pilot: step the "
                "Mechanic (what one_run returned), not the optimizer inside it (alone it runs at the schedule's bare "
                "multiplier, with no learned scale)"
            )
        super().step()

    def _observe(self, loss: float) -> None:
        t = len(self.losses)
        self.losses.append(loss)
        if t < REFERENCE_STEPS:
            if not math.isfinite(loss):
                raise ValueError(
                    f"AutoLR pilot: loss {loss} at step {t} (lr {self.pilot.lr(t):.3g}, the bottom of the ramp): "
                    "training diverges at every lr; check the model and the loss"
                )
        elif self.result is None and is_unstable(loss, self._reference()):
            lrs = [self.pilot.lr(i) for i in range(t)]
            self.result = PilotResult(
                self.pilot.lr(t), t, t + 1, True, self._reference(), min_loss_lr(lrs, self.losses, t)
            )
        if t == self.pilot_steps - 1:
            self._finish_pilot()

    def _reference(self) -> float:
        head = sorted(self.losses[:REFERENCE_STEPS])
        return head[len(head) // 2]

    def _finish_pilot(self) -> None:
        if self.result is None:
            lrs = [self.pilot.lr(i) for i in range(self.pilot_steps)]
            self.result = stability_cap(lrs, self.losses)
        features = self.result.features
        planned = min(r * features[f] for f, r in self.ratio.items() if f in features)
        if self.mechanic is not None:  # the pilot's lr seeds Mechanic's scale; the schedule runs at peak 1.0
            self.peak_lr, self.seed_scale = 1.0, planned
            self._restore_snapshot()
            self.mechanic.paused = False
            self.mechanic.seed(planned)
            return
        if self.result.unstable:
            self.peak_lr = planned
        else:
            calibrated = math.isfinite(self._fallback_lr)
            self.peak_lr = self._fallback_lr if calibrated else planned
            instead = f"the {self.family} family's calibrated lr" if calibrated else "the ratio times the ramp's top"
            warnings.warn(
                f"AutoLR pilot: the loss never rose above 1.5 x {self.result.reference_loss:.4g} (the untrained loss) "
                f"up to lr {self.pilot.hi:g}; running at {instead}, {self.peak_lr:.3g}",
                UserWarning,
                stacklevel=3,
            )
        self._restore_snapshot()

    # --- snapshot of the state before the pilot -----------------------------------------------------------------
    def _take_snapshot(self) -> dict[str, Any]:
        params = [p.detach().clone() for group in self.optimizer.param_groups for p in group["params"]]
        buffers = None if self.model is None else {k: v.detach().clone() for k, v in self.model.named_buffers()}
        return {"params": params, "optimizer": copy.deepcopy(self.optimizer.state_dict()), "buffers": buffers}

    def _restore_snapshot(self) -> None:
        snap = self._snapshot
        with torch.no_grad():
            live = [p for group in self.optimizer.param_groups for p in group["params"]]
            for p, saved in zip(live, snap["params"], strict=True):
                p.copy_(saved)
            if snap["buffers"] is not None:
                for name, buffer in self.model.named_buffers():  # type: ignore[union-attr]
                    buffer.copy_(snap["buffers"][name])
        # schedule-free optimizers keep their train/eval mode in the param groups: keep the mode they are in now
        modes = [{k: g[k] for k in ("train_mode",) if k in g} for g in self.optimizer.param_groups]
        self.optimizer.load_state_dict(snap["optimizer"])
        for group, mode in zip(self.optimizer.param_groups, modes, strict=True):
            group.update(mode)
        self._snapshot = {}

    # --- resume ----------------------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Plain data after the pilot; during it, also the pre-pilot snapshot (tensors: parameters, buffers,
        optimizer state), so that a checkpoint saved during the pilot resumes it exactly."""
        return {
            "last_epoch": self.last_epoch,
            "_step_count": self._step_count,
            "run_steps": self.run_steps,
            "pilot_steps": self.pilot_steps,
            "base_lrs": [float(b) for b in self.base_lrs],
            "method": self.method,
            "peak_lr": self.peak_lr,
            "seed_scale": self.seed_scale,
            "result": None if self.result is None else dict(vars(self.result)),
            "losses": list(self.losses),
            "_warned_past_horizon": self._warned_past_horizon,
            "snapshot": self._snapshot or None,
        }

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        if (state_dict["run_steps"], state_dict["pilot_steps"]) != (self.run_steps, self.pilot_steps):
            raise ValueError(
                f"AutoLR state is for {state_dict['pilot_steps']} pilot + {state_dict['run_steps']} run steps; this "
                f"scheduler has {self.pilot_steps} + {self.run_steps}"
            )
        if state_dict.get("method", self.method) != self.method:  # (older states: no method)
            raise ValueError(
                f"AutoLR state is for method {state_dict['method']!r}; this scheduler runs {self.method!r} (a Mechanic "
                "optimizer runs 'mechanic'): build it as the checkpointed run was built"
            )
        in_pilot = state_dict["peak_lr"] is None
        if in_pilot and not state_dict.get("snapshot"):  # (saved by a version that did not keep the snapshot)
            raise ValueError("AutoLR state saved during the pilot without its snapshot: the pilot cannot resume")
        self.last_epoch = int(state_dict["last_epoch"])
        self._step_count = int(state_dict["_step_count"])
        self.base_lrs = list(state_dict["base_lrs"])
        self.peak_lr = None if in_pilot else float(state_dict["peak_lr"])
        self.seed_scale = state_dict.get("seed_scale")
        if self.mechanic is not None:
            self.mechanic.paused = in_pilot
        self.result = None if state_dict["result"] is None else PilotResult(**state_dict["result"])
        self.losses = list(state_dict["losses"])
        self._warned_past_horizon = bool(state_dict["_warned_past_horizon"])
        self._snapshot = dict(state_dict["snapshot"]) if in_pilot else {}
        self._apply()


def prepare_one_run(
    optimizer: torch.optim.Optimizer, method: str, run_steps: int | None = None
) -> tuple[torch.optim.Optimizer, bool]:
    """The optimizer ``method`` steps, and whether it was put inside a Mechanic here: for ``"mechanic"`` a plain
    optimizer goes inside ``short_run_mechanic(optimizer, run_steps)`` (a ``Mechanic`` stays as it is); the others
    keep it. A schedule-free optimizer goes with ``"schedulefree"`` only (it keeps its own train/eval modes, which a
    Mechanic would hide), and ``"schedulefree"`` with a schedule-free optimizer only: one-line ``ValueError``s."""
    method = check_one_run_method(method)
    inner = unwrapped(optimizer)
    name = type(inner).__name__
    schedule_free = "schedulefree" in name.lower()
    if method == "schedulefree" and not schedule_free:
        raise ValueError(f"method='schedulefree' needs a schedule-free optimizer (schedulefree's), got {name}")
    if method != "mechanic" or isinstance(inner, Mechanic):
        return optimizer, False
    if schedule_free:
        raise ValueError(
            f"{name} keeps its own train/eval modes and cannot go inside a Mechanic: use method='schedulefree' "
            "(Trainer: auto='schedulefree')"
        )
    return short_run_mechanic(optimizer, run_steps), True


def _freeze_after(fraction: float, run_steps: int) -> int:
    return max(1, round(fraction * run_steps))


def short_run_mechanic(optimizer: torch.optim.Optimizer, run_steps: int | None = None) -> Mechanic:
    """``optimizer`` inside a ``Mechanic`` with the short-run options (``MECHANIC_SHORT_RUN``): restarts at 10x, and
    given the run's length (after the pilot) its scale frozen after a quarter of it (else ``AutoLR(...,
    freeze_fraction=0.25)`` sets that, as it knows the run's length)."""
    freeze = None if run_steps is None else _freeze_after(MECHANIC_SHORT_RUN["freeze_fraction"], run_steps)
    return Mechanic(optimizer, restart_factor=MECHANIC_SHORT_RUN["restart_factor"], freeze_after=freeze)


def one_run(
    optimizer: torch.optim.Optimizer, steps: int, family: str | None = None, *, method: str = "mechanic", **kwargs: Any
) -> tuple[torch.optim.Optimizer, AutoLR]:
    """tuneless' default for one run with no sweep: ``(optimizer to step, scheduler)`` for a loop of ``steps``
    optimizer steps, the pilot included (``AutoLR.within``). Needs only the optimizer (its family from its class, or
    ``family=``) and ``steps``; the optimizer's lrs only relate its param groups.

    ``method="mechanic"`` (the default; the benchmark's ``auto-mechanic``): ``optimizer`` goes inside
    ``short_run_mechanic`` (unless it is a ``Mechanic`` already: then its own options hold), the pilot seeds the
    scale and the scale freezes after a quarter of the run. ``method="linear"`` (the benchmark's ``auto``): the
    optimizer as it is, at the calibrated fixed peak. ``method="schedulefree"`` (``auto-schedulefree``): a
    schedule-free optimizer at its calibrated peak, warmup then constant (``one_run_schedule``). Other arguments go
    to ``AutoLR``. Each step: ``optimizer.step(); scheduler.step(loss)`` (step the optimizer returned: the one given
    is inside it; stepping that one instead is a ``RuntimeError`` ``MECHANIC_STEP_GRACE`` steps after the pilot).
    """
    family = check_family(family) if family is not None else optimizer_family(optimizer)
    optimizer, wrapped = prepare_one_run(optimizer, method)
    if wrapped:
        kwargs.setdefault("freeze_fraction", MECHANIC_SHORT_RUN["freeze_fraction"])
    kwargs.setdefault("schedule", one_run_schedule(method))
    return optimizer, AutoLR.within(optimizer, steps, family, method=method, **kwargs)
