"""Methods compared by the benchmark: an optimizer, a schedule and the list of trials tuned on each workload.

A :class:`Method` is data: a name, the optimizer spec per optimizer family (or the workload's own optimizer),
a schedule spec, which trials it runs (the workload's peak-lr grid, or a fixed list of configurations with its own
count), and optionally a prior method whose best trial it builds on (refinement). ``register_method`` adds one;
nothing in the runner branches on a method's name.

Optimizer specs are ``"name(key=value, ...)"`` with names from ``optimizers.OPTIMIZERS``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ...registry import Registry
from .workload import Workload

__all__ = ["METHODS", "Method", "TrialConfig", "method_info", "register_method", "resolve_methods"]

# Warmup shared by every scheduled method: a linear ramp over the first 5% of the budget (the paper's runs and the
# AlgoPerf NAdamW baseline use a short warmup; no method gets an advantage from it).
WARMUP_FRACTION = 0.05


@dataclasses.dataclass(frozen=True)
class TrialConfig:
    """One trial of a method on a workload (the seed is added by the runner).

    ``schedule`` is a schedule spec or a schedule JSON path; ``None`` means "derived from the prior trial"
    (refinement fills it in). ``label`` tells apart fixed configurations that share a peak lr.
    """

    peak_lr: float | None
    optimizer: str
    schedule: str | None
    label: str = ""


@dataclasses.dataclass(frozen=True)
class Method:
    """A benchmarked method.

    Attributes:
        name: short name used on the command line, in the store and in the report.
        description: one sentence for ``tuneless bench list`` and the report.
        schedule: schedule spec (``tuneless schedules list``); ``None`` = computed from the prior run.
        optimizer: optimizer spec per optimizer family (``"sgd"``/``"adam"``, see ``workload.optimizer_family``);
            ``None`` = the workload's own optimizer.
        configs: ``configs(workload) -> [TrialConfig, ...]`` for a method with a fixed list of trials
            (e.g. an ordered hyperparameter list, or a single self-tuning run); ``None`` = one trial per peak lr of
            the workload's grid.
        prior: the method whose best trial (per workload and seed) this method starts from; its trials run after
            all of the prior's trials.
        records_grad_norms: record the gradient-norm trace of every trial (the prior of refinement needs it).
        budget_fraction: the trials run this fraction of the workload's budget (tuning at a shorter horizon).
        from_prior: ``from_prior(config, prior_trial, workload) -> TrialConfig``: how a method with a prior makes
            its trial from the prior's best trial (a store ``Trial``); ``None`` = refine the prior's gradient norms.
        prior_cost: ``"best"``: the cost added for the prior is its best trial's (refinement reuses one run of a
            grid tuned anyway); ``"all"``: every trial of the prior on the workload and seed (a tuning stage of
            this method's own, e.g. the short-horizon grid of lr transfer).
        scheduler: ``scheduler(optimizer, workload, budget_steps) -> LRScheduler`` for a method that brings its own
            scheduler (online refinement); ``None`` = ``ScheduleLR`` over the trial's schedule spec.
    """

    name: str
    description: str
    schedule: str | None = None
    optimizer: Mapping[str, str] | None = None
    configs: Callable[[Workload], Sequence[TrialConfig]] | None = None
    prior: str | None = None
    records_grad_norms: bool = False
    budget_fraction: float = 1.0
    from_prior: Callable[[TrialConfig, Any, Workload], TrialConfig] | None = None
    prior_cost: str = "best"
    scheduler: Callable[[Any, Workload, int], Any] | None = None

    def optimizer_for(self, workload: Workload) -> str:
        if self.optimizer is None:
            return workload.optimizer
        family = workload.optimizer_family
        if family not in self.optimizer:
            raise ValueError(
                f"method {self.name!r} has no optimizer for {family}-type workloads like {workload.name!r}"
            )
        return self.optimizer[family]

    def info(self) -> dict[str, Any]:
        """What a report says of the method, stored with each run (the report never reads the live registry):
        its description, whether it tunes a peak-lr grid (no fixed list of trials) and its prior method."""
        return {"description": self.description, "grid": self.configs is None, "prior": self.prior}

    def trials(self, workload: Workload) -> list[TrialConfig]:
        if self.configs is not None:
            return list(self.configs(workload))
        optimizer = self.optimizer_for(workload)
        return [TrialConfig(float(lr), optimizer, self.schedule) for lr in workload.peak_lrs]


METHODS: Registry[Method] = Registry("method")


def register_method(method: Method) -> Method:
    """Add ``method`` (its prior must be registered first; a name already registered is a ``ValueError``)."""
    if method.prior is not None and method.prior not in METHODS:
        raise ValueError(f"method {method.name!r}: prior method {method.prior!r} is not registered")
    return METHODS.add(method.name, method)


def resolve_methods(names: Sequence[str]) -> list[Method]:
    """The methods named, in registry order, plus the priors they need."""
    unknown = [n for n in names if n not in METHODS]
    if unknown:
        raise ValueError(f"methods: unknown method(s) {unknown}; known: {list(METHODS)}")
    wanted = set(names)
    for name in names:
        prior = METHODS[name].prior
        while prior is not None:
            wanted.add(prior)
            prior = METHODS[prior].prior
    return [m for name, m in METHODS.items() if name in wanted]


def method_info(methods: Sequence[Method]) -> dict[str, dict[str, Any]]:
    """``Method.info`` of each method, by name (a run's ``method_info``)."""
    return {method.name: method.info() for method in methods}


def _warmup(spec: str) -> str:
    return f"warmup({spec},fraction={WARMUP_FRACTION})"


for _method in (
    Method("constant", "constant peak lr after warmup", schedule=_warmup("constant")),
    Method("cosine", "cosine decay to zero after warmup (the common default)", schedule=_warmup("cosine")),
    Method(
        "linear",
        "linear decay to zero after warmup (worst-case optimal for the last iterate, Defazio et al. 2023)",
        schedule=_warmup("linear"),
        records_grad_norms=True,
    ),
    Method(
        "wsd",
        "warmup-stable-decay with a 1-sqrt cooldown over the last 20% (Hagele et al. 2024)",
        schedule=_warmup("wsd(cooldown=0.2,shape=1-sqrt)"),
    ),
    Method("rex", "REX decay (1-p)/(1-p/2) after warmup (Chen et al. 2021)", schedule=_warmup("rex")),
    Method(
        "refined",
        "schedule refined from the gradient norms of the best linear-decay run, peak lr re-tuned on the grid "
        "(Defazio et al. 2023); its cost includes that prior run",
        schedule=None,
        prior="linear",
    ),
    Method(
        "schedulefree",
        "schedule-free SGD / AdamW (Defazio et al. 2024, package schedulefree), warmup 5%, no decay",
        schedule="constant",
        optimizer={
            "sgd": f"schedulefree_sgd(momentum=0.9,warmup_fraction={WARMUP_FRACTION})",
            "adam": f"schedulefree_adamw(warmup_fraction={WARMUP_FRACTION})",
        },
    ),
):
    register_method(_method)


# --- minimal tuning: methods with a fixed, small number of trials (issue "minimal tuning") ----------------------
def _mechanic_configs(schedule: str) -> Callable[[Workload], Sequence[TrialConfig]]:
    """One trial: Mechanic over the workload's own optimizer, schedule peak 1.0, no lr sweep (Cutkosky et al.
    2023: the schedule gives the shape, Mechanic learns the scale)."""

    def configs(workload: Workload) -> list[TrialConfig]:
        return [TrialConfig(1.0, f"mechanic_{workload.optimizer}", _warmup(schedule), label="mechanic")]

    return configs


def _nadamw_configs(k: int) -> Callable[[Workload], Sequence[TrialConfig]]:
    """The first ``k`` points of the AlgoPerf NAdamW baseline list, each with its warmup then cosine to zero
    (label smoothing and dropout of the list are not applied: the workloads have neither)."""

    def configs(workload: Workload) -> list[TrialConfig]:
        from ...hparams import nadamw_list

        return [
            TrialConfig(
                p.lr,
                f"nadamw(beta1={p.beta1!r},beta2={p.beta2!r},weight_decay={p.weight_decay!r})",
                p.schedule("cosine").spec,
                label=f"point{i + 1}",
            )
            for i, p in enumerate(nadamw_list(k))
        ]

    return configs


def _prodigy_configs(workload: Workload) -> list[TrialConfig]:
    """One trial: Prodigy at its recommended lr 1.0 with cosine annealing (Mishchenko & Defazio 2024)."""
    return [TrialConfig(1.0, "prodigy", _warmup("cosine"), label="prodigy")]


def _prodigy_linear_configs(workload: Workload) -> list[TrialConfig]:
    """One trial: Prodigy with Adam's bias correction on and linear decay. The package leaves bias correction off;
    with beta2 = 0.999 its steps are then 2-6x what d intends over the first few hundred steps, which dominated
    the quick and full suites' short runs (measured in docs/auto.md, "Learned scales at short horizons")."""
    return [TrialConfig(1.0, "prodigy(use_bias_correction=True)", _warmup("linear"), label="prodigy-linear")]


for _method in (
    Method(
        "mechanic-linear",
        "Mechanic learns the lr scale over the workload's optimizer; linear decay shape, peak 1.0, 1 trial",
        configs=_mechanic_configs("linear"),
    ),
    Method(
        "mechanic-cosine",
        "Mechanic learns the lr scale over the workload's optimizer; cosine shape, peak 1.0, 1 trial",
        configs=_mechanic_configs("cosine"),
    ),
    Method(
        "nadamw-1",
        "NAdamW, first point of the AlgoPerf baseline list, warmup + cosine: 1 trial",
        configs=_nadamw_configs(1),
    ),
    Method(
        "nadamw-5",
        "NAdamW, best of the 5-point AlgoPerf baseline list, warmup + cosine: 5 trials",
        configs=_nadamw_configs(5),
    ),
    Method(
        "prodigy", "Prodigy (learning-rate free, package prodigyopt), lr 1.0, cosine: 1 trial", configs=_prodigy_configs
    ),
    Method(
        "prodigy-linear",
        "Prodigy with bias correction on (the package's default is off) and linear decay, lr 1.0: 1 trial",
        configs=_prodigy_linear_configs,
    ),
):
    register_method(_method)


# --- peak-lr transfer from a quarter of the budget (issue #14) -------------------------------------------------
QUARTER = 0.25


def _transferred_config(rule: str) -> Callable[[TrialConfig, Any, Workload], TrialConfig]:
    """The full-budget trial from the best quarter-budget trial: its peak lr moved by the ratio of the
    bound-optimal base lrs (``"bound"``, Schaipp et al., arXiv 2501.18965) or kept (``"same"``)."""

    def from_prior(config: TrialConfig, prior: Any, workload: Workload) -> TrialConfig:
        lr = float(prior.peak_lr)
        if rule == "bound":
            from ...refine.transfer import transfer_lr

            lr = transfer_lr(lr, prior.schedule, int(prior.budget_steps), config.schedule, workload.budget_steps)
        return dataclasses.replace(config, peak_lr=lr)

    return from_prior


def _one_full_run(label: str) -> Callable[[Workload], Sequence[TrialConfig]]:
    def configs(workload: Workload) -> list[TrialConfig]:
        return [TrialConfig(None, workload.optimizer, _warmup("linear"), label=label)]

    return configs


for _method in (
    Method(
        "linear-quarter",
        "linear decay tuned on the peak-lr grid at a quarter of the budget (the tuning stage of 'transfer')",
        schedule=_warmup("linear"),
        budget_fraction=QUARTER,
    ),
    Method(
        "transfer",
        "linear decay at the best quarter-budget peak lr moved to the full budget by the ratio of bound-optimal "
        "base lrs (Schaipp et al. 2025), 1 full run; its cost includes every quarter-budget trial",
        configs=_one_full_run("transfer"),
        prior="linear-quarter",
        from_prior=_transferred_config("bound"),
        prior_cost="all",
    ),
    Method(
        "same-lr",
        "linear decay at the best quarter-budget peak lr kept as is (the naive rule), 1 full run; its cost includes "
        "every quarter-budget trial",
        configs=_one_full_run("same-lr"),
        prior="linear-quarter",
        from_prior=_transferred_config("same"),
        prior_cost="all",
    ),
):
    register_method(_method)


# --- online refinement: one run, the schedule re-planned from its own gradient norms (issue #13) ---------------
def _online_refined(future: str | None) -> Callable[[Any, Workload, int], Any]:
    def scheduler(optimizer: Any, workload: Workload, budget: int) -> Any:
        from ...refine.online import DEFAULT_FUTURE
        from ...torch.online import OnlineRefinedLR

        return OnlineRefinedLR(
            optimizer, budget, workload.optimizer_family, future=future or DEFAULT_FUTURE, warmup=WARMUP_FRACTION
        )

    return scheduler


register_method(
    Method(
        "refined-online",
        "refinement without a prior run: warmup + linear decay, re-planned every 10% of the run from the gradient "
        "norms seen so far (tuneless.torch.OnlineRefinedLR, default future model); one run per trial",
        scheduler=_online_refined(None),
    )
)
for _future in ("constant", "trend", "stretch"):
    register_method(
        Method(
            f"refined-online-{_future}",
            f"refined-online with the {_future!r} model of the unseen gradient norms",
            scheduler=_online_refined(_future),
        )
    )
