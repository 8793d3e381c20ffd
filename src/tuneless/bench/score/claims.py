"""The claims a run tests (``CLAIMS``: method a against method b) and their data: per workload the paired
difference of the final metric (``paired``), in % of b's mean, and the noise rule's verdict."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from .paired import PairedComparison, paired_comparison
from .scoring import RunScores

__all__ = ["CLAIMS", "Claim", "ClaimPoint", "claim_panels", "claim_verdict", "relative_difference"]


@dataclasses.dataclass(frozen=True)
class Claim:
    """Method ``a`` against method ``b``; ``count_prior``: steps to target include each side's prior runs."""

    a: str
    b: str
    title: str
    count_prior: bool = False


CLAIMS = (
    Claim("linear", "cosine", "Claim 1: linear decay vs cosine"),
    Claim("refined", "linear", "Claim 2: refined vs linear decay"),
    Claim("refined-online", "linear", "Online refinement vs linear decay"),
    Claim("refined-online", "refined", "Online refinement vs offline refinement counted with its prior run", True),
    Claim("transfer", "linear", "Peak lr transferred from a quarter of the budget vs grid-tuned linear decay"),
    Claim("transfer", "same-lr", "Peak lr transferred vs the quarter-budget lr kept"),
    # the self-tuning track: one run (pilot included) against a grid-tuned lr, and against the control
    Claim("auto", "cosine", "One run: AutoLR (pilot + linear decay) vs grid-tuned cosine"),
    Claim("auto", "linear", "One run: AutoLR vs grid-tuned linear decay"),
    Claim("auto", "control", "One run: AutoLR vs the control (one calibrated lr per family)"),
    Claim("auto-schedulefree", "cosine", "One run: schedule-free at the pilot's lr vs grid-tuned cosine"),
    Claim("control", "cosine", "The control (one calibrated lr per family, linear decay) vs grid-tuned cosine"),
    Claim("prodigy-linear", "cosine", "One run: Prodigy with bias correction and linear decay vs grid-tuned cosine"),
    Claim(
        "mechanic-freeze", "cosine", "One run: Mechanic (restarts, scale frozen at 25%) + linear vs grid-tuned cosine"
    ),
    Claim("mechanic-freeze", "linear", "One run: Mechanic (restarts, frozen scale) vs grid-tuned linear decay"),
    Claim("mechanic-freeze", "control", "One run: Mechanic (restarts, frozen scale) vs the control"),
    Claim(
        "auto-mechanic", "cosine", "One run: Mechanic seeded by the pilot (restarts, frozen scale) vs grid-tuned cosine"
    ),
    Claim("auto-mechanic", "linear", "One run: Mechanic seeded by the pilot vs grid-tuned linear decay"),
    Claim("auto-mechanic", "control", "One run: Mechanic seeded by the pilot vs the control"),
    Claim("auto-mechanic", "auto", "One run: Mechanic seeded by the pilot vs AutoLR's fixed peak (same pilot)"),
)


def claim_verdict(
    mean_a: float | None, std_a: float | None, mean_b: float | None, std_b: float | None, higher_is_better: bool
) -> str:
    """``"better"``, ``"worse"`` or ``"tie"`` for method a against b (``"n/a"`` when either has no result)."""
    if mean_a is None or mean_b is None:
        return "n/a"
    noise = max(std_a or 0.0, std_b or 0.0)
    difference = (mean_a - mean_b) if higher_is_better else (mean_b - mean_a)  # > 0: a is better
    if abs(difference) <= noise:
        return "tie"
    return "better" if difference > 0 else "worse"


def relative_difference(
    comparison: PairedComparison, reference: float, higher_is_better: bool
) -> tuple[float, float, float]:
    """A paired difference ``a - b`` of final metrics and its interval in percent of ``reference`` (b's mean),
    signed so that a positive value means a is better: ``(estimate, low, high)`` with ``low <= high``."""
    if not math.isfinite(reference) or reference == 0:
        raise ValueError(f"reference={reference!r}: need a finite, non-zero mean of the second method")
    scale = (100.0 if higher_is_better else -100.0) / abs(reference)
    ends = sorted((comparison.low * scale, comparison.high * scale))
    return comparison.estimate * scale, ends[0], ends[1]


ClaimPoint = tuple[str, float, float, float, str]  # workload, estimate, low, high (% of b), paired verdict


def claim_panels(
    scored: RunScores, finals: dict[str, dict[str, dict[int, float]]], claims: Sequence[Claim] = CLAIMS
) -> dict[str, list[ClaimPoint]]:
    """Per claim whose two methods are in the run (``"a vs b"``), per workload with a common seed: the paired
    difference of the final metric and its interval in % of b's mean over the common seeds
    (``relative_difference``), and the paired verdict. A workload where that mean is 0 is left out."""
    panels: dict[str, list[ClaimPoint]] = {}
    for claim in claims:
        if claim.a not in scored.methods or claim.b not in scored.methods:
            continue
        points = []
        for workload in scored.workloads:
            higher = bool(scored.workload_info[workload]["higher_is_better"])
            of_b = finals.get(workload, {}).get(claim.b, {})
            comparison = paired_comparison(finals.get(workload, {}).get(claim.a, {}), of_b, higher)
            if comparison.verdict == "n/a":
                continue
            reference = sum(of_b[seed] for seed in comparison.seeds) / len(comparison.seeds)
            if reference == 0:
                continue
            estimate, low, high = relative_difference(comparison, reference, higher)
            points.append((workload, estimate, low, high, comparison.verdict))
        if points:
            panels[f"{claim.a} vs {claim.b}"] = points
    return panels
