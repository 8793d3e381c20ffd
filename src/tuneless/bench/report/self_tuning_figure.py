"""The self-tuning track at a glance (``self_tuning.png``): per one-run method, on how many workloads its final
metric is better than, tied with or worse than a grid-tuned cosine and linear decay (paired 95% verdicts over
seeds), against the issue's goal of a tie or better on 80% of the workloads. A workload with fewer common seeds than
a paired verdict needs (``MIN_PAIRED_SEEDS``; the quick suite has 2) is counted apart, not as a tie (drawn as a
tie it would look like the goal was met): as "ahead" or "behind" by the sign of its mean difference, hatched, which is
a hint and no verdict."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ..score.claims import Claim, claim_panels
from ..score.paired import MIN_PAIRED_SEEDS, paired_differences
from ..score.scoring import RunScores
from ..score.self_tuning import one_run_methods, self_tuning_scores
from .figures import VERDICT_COLORS

__all__ = ["GOAL", "REFERENCES", "VERDICTS", "self_tuning_counts", "plot_self_tuning"]

#: the grid-tuned methods a one-run method is held against
REFERENCES = ("cosine", "linear")
#: the share of workloads on which a one-run method should tie or beat the grid-tuned lr (issue #26)
GOAL = 0.8
#: the counted outcomes, in the order the bars stack them; "ahead" and "behind": too few common seeds for a
#: verdict, and the sign of the mean difference (level means count as behind: a hint never flatters the method)
VERDICTS = ("better", "ahead", "tie", "behind", "worse")
_UNPAIRED = {"ahead": "better", "behind": "worse"}  # drawn hatched, in the colour of the verdict they hint at

Counts = dict[str, dict[str, dict[str, int]]]  # one-run method -> reference -> verdict -> workloads


def self_tuning_counts(scored: RunScores, finals: Mapping[str, Mapping[str, Mapping[int, float]]]) -> Counts:
    """Per one-run method and grid-tuned reference in the run: the workloads of each paired verdict (final
    metric, ``claims.claim_panels``); a workload with fewer than ``MIN_PAIRED_SEEDS`` common seeds (a tie by rule)
    is counted ``"ahead"`` or ``"behind"`` instead, by the sign of the mean difference; empty when the run has no
    one-run method or no reference."""
    references = [r for r in REFERENCES if r in scored.methods]
    claims = [Claim(m, r, "") for m in one_run_methods(scored) for r in references]
    panels = claim_panels(scored, dict(finals), claims)  # type: ignore[arg-type]
    counts: Counts = {}
    for claim in claims:
        points = panels.get(f"{claim.a} vs {claim.b}", [])
        if points:
            verdicts = [
                ("ahead" if estimate > 0 else "behind")
                if len(paired_differences(finals[w][claim.a], finals[w][claim.b])[0]) < MIN_PAIRED_SEEDS
                else verdict
                for w, estimate, _, _, verdict in points
            ]
            counts.setdefault(claim.a, {})[claim.b] = {v: verdicts.count(v) for v in VERDICTS}
    return counts


def plot_self_tuning(scored: RunScores, counts: Counts, path: Path) -> Path | None:
    """Stacked bars, one per (one-run method, reference), best self-tuning score (steps) on top; ``None`` (no
    file) when ``counts`` is empty."""
    if not counts:
        return None
    from ...plotting import pyplot, save

    scores = self_tuning_scores(scored).get("steps", {})
    methods = sorted(counts, key=lambda m: -scores.get(m, 0.0))
    bars = [(m, r, counts[m][r]) for m in methods for r in REFERENCES if r in counts[m]]
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8.5, 0.42 * len(bars) + 1.6))
    for y, (_, _, verdicts) in enumerate(reversed(bars)):
        left = 0
        for verdict in VERDICTS:
            n = verdicts.get(verdict, 0)
            if n:
                hint = verdict in _UNPAIRED
                color = VERDICT_COLORS[_UNPAIRED.get(verdict, verdict)]
                ax.barh(
                    y,
                    n,
                    left=left,
                    color=color,
                    alpha=0.45 if hint else 1.0,
                    hatch="//" if hint else None,
                    height=0.7,
                    edgecolor="white",
                )
                ax.text(
                    left + n / 2, y, str(n), ha="center", va="center", color="black" if hint else "white", fontsize=9
                )
            left += n
    total = max(sum(v.values()) for _, _, v in bars)
    ax.axvline(GOAL * total, color="black", ls="--", lw=1)
    ax.text(GOAL * total, len(bars) - 0.4, f" goal: tie or better on {GOAL:.0%}", fontsize=8, va="bottom")
    labels = [f"{m} vs grid-tuned {r}" + (f"  (score {scores[m]:.2f})" if m in scores else "") for m, r, _ in bars]
    ax.set_yticks(range(len(bars)), list(reversed(labels)), fontsize=9)
    ax.set_xlim(0, total)
    ax.xaxis.get_major_locator().set_params(integer=True)  # workloads are counted: no 0.5 ticks on 3 workloads
    ax.set_ylim(-0.6, len(bars) + 0.2)
    xlabel = "workloads (paired 95% verdict on the final metric: green better, grey tie, red worse)"
    if any(v.get(hint, 0) for _, _, v in bars for hint in _UNPAIRED):
        xlabel += (
            f"\nhatched: fewer than {MIN_PAIRED_SEEDS} seeds, no verdict; only the sign of the mean difference"
            " (ahead / behind)"
        )
    ax.set_xlabel(xlabel)
    ax.set_title(
        "One run, no sweep, against a grid-tuned peak lr\n(score: the self-tuning track's, steps)", fontsize=10
    )
    fig.tight_layout()
    return save(fig, path)
