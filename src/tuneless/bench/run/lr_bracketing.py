"""Method-fair tuning: after the peak-lr grid, each grid method adds trials around its own best peak lr, per
workload and seed, until every method's best lr is known to the same resolution.

The coarse grid (half-decade steps, 0.03, 0.1, 0.3, ...) decides a comparison by where its points happen to fall:
a method whose best lr lies between two grid points is judged at a worse lr than one whose best lr is on the grid.
So each grid method, for each workload and seed, is tuned further by bisecting log(lr) around its best point:

1. the best trial so far, among the method's trials of that workload and seed, by each of the suite's tuning
   measures (``TUNING_MEASURES``): ``"steps"``, the scoring's (``scoring.best_trials``: fewest steps to target,
   ties broken by the final metric), and/or ``"final"``, the best final metric (the claims' measure);
2. if the best lr is the lowest (highest) tried, the grid is extended outward by one grid step (the ratio of the
   grid's two points at that edge), at most ``MAX_EDGE_STEPS`` steps beyond the grid;
3. otherwise, on each side whose neighbour is more than a factor ``resolution`` away from the best lr, the
   geometric midpoint ``sqrt(neighbour * best)`` (rounded to 4 significant digits, so trial ids stay readable);
4. repeat until the best lr is bracketed by neighbours within a factor ``resolution`` on both sides, or the
   method has spent ``MAX_EXTRA_TRIALS`` trials per tuning measure (one pool) beyond the grid on that workload and
   seed (then it stops, and the report's grid-edge flag says when the best lr is still at an edge).

A suite may tune by two measures (``full``: steps for its score, final metric for its claims): each round then
proposes the lrs around each measure's best, and both bests end bracketed (or a cap is reached).

Rounds are replayed from the stored results (``next_round``): round ``k``'s lrs depend only on the results of the
grid and of rounds ``< k``, so a run resumed after ``kill -9`` proposes exactly the trials an uninterrupted run
would have, and a trial already finished in the store is never proposed again. The extra trials are ordinary
trials of the method (their ids come from their lr, ``runner.trial_id``): they count in its trials and seconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

from ..catalog.tuning import LR_RESOLUTION, TUNING_MEASURES, check_resolution, check_tuning_measures
from ..record.rows import Trial

__all__ = [
    "LR_RESOLUTION",
    "MAX_EDGE_STEPS",
    "MAX_EXTRA_TRIALS",
    "TUNING_MEASURES",
    "check_tuning_measures",
    "check_resolution",
    "next_peak_lrs",
    "next_round",
    "round_lr",
]

MAX_EXTRA_TRIALS = (
    6  # trials beyond the grid per (workload, method, seed) and tuning measure: 4 bisect a half-decade grid to 1.33
)
MAX_EDGE_STEPS = 4  # grid steps beyond either edge: a factor 9 for the long suite's sqrt(3) grids, 100 for half-decades
_TOLERANCE = 1e-3  # relative: lrs are rounded to 4 significant digits


def round_lr(lr: float) -> float:
    """An lr rounded to 4 significant digits (the same float for the same inputs: trial ids are deterministic)."""
    return float(f"{lr:.4g}")


def next_peak_lrs(
    grid: Sequence[float],
    tried: Sequence[float],
    best: float,
    resolution: float = LR_RESOLUTION,
    max_extra: int = MAX_EXTRA_TRIALS,
    max_edge_steps: int = MAX_EDGE_STEPS,
) -> list[float]:
    """The peak lrs to try next around ``best`` (one of ``tried``), given the original ``grid`` (a subset of
    ``tried``); empty when the best lr is bracketed within ``resolution``, or the trial or edge caps are reached.
    The widest gaps come first when the cap allows fewer lrs than the gaps need."""
    check_resolution(resolution)
    grid = sorted(set(grid))
    tried = sorted(set(tried) | set(grid))
    if len(grid) < 2 or best not in tried:
        return []
    remaining = max_extra - (len(tried) - len(grid))
    if remaining <= 0:
        return []
    index = tried.index(best)
    if index == 0:  # the lowest lr tried is the last step of a walk down: how many grid steps below the grid
        step = grid[1] / grid[0]
        steps_out = round(math.log(grid[0] / best) / math.log(step))
        return [round_lr(best / step)] if steps_out < max_edge_steps else []
    if index == len(tried) - 1:
        step = grid[-1] / grid[-2]
        steps_out = round(math.log(best / grid[-1]) / math.log(step))
        return [round_lr(best * step)] if steps_out < max_edge_steps else []
    gaps = []  # (ratio, midpoint)
    for neighbour in (tried[index - 1], tried[index + 1]):
        ratio = max(neighbour, best) / min(neighbour, best)
        if ratio > resolution * (1 + _TOLERANCE):
            midpoint = round_lr(math.sqrt(neighbour * best))
            if midpoint not in tried:
                gaps.append((ratio, midpoint))
    gaps.sort(key=lambda gap: -gap[0])
    return [midpoint for _, midpoint in gaps[:remaining]]


def next_round(
    grid: Sequence[float],
    finished: Mapping[float, Trial],
    best_of: Sequence[Callable[[Sequence[Trial]], Trial | None]],
    resolution: float = LR_RESOLUTION,
    max_extra: int = MAX_EXTRA_TRIALS,
    max_edge_steps: int = MAX_EDGE_STEPS,
) -> list[float]:
    """The lrs still to run for one (workload, method, seed), replaying the rounds from the stored results.

    ``finished``: peak lr -> finished trial record (done or failed) of the method's trials on that workload and
    seed; ``best_of``: one choice among records per tuning measure (each measure's best lr is bracketed; the trials
    beyond the grid are capped at ``max_extra`` times the number of measures, one pool shared by them). Round 1
    starts from the grid; each round's lrs are the union of ``next_peak_lrs`` of each measure's best in the results
    of the grid and the earlier rounds (two measures that pick the same best propose the same lrs once). Returns
    the first round with an lr not in ``finished`` (only those lrs), or ``[]`` when every round is finished (or a
    grid trial is missing: the grid runs first).
    """
    tried = sorted(set(grid))
    if any(lr not in finished for lr in tried):
        return []
    cap = max_extra * len(best_of)  # one pool, shared by the measures
    while True:
        proposal: list[float] = []
        for choose in best_of:  # each measure's lrs from the trials run so far (two that agree propose the same)
            best = choose([finished[lr] for lr in tried]).peak_lr
            room = cap - len(proposal)
            proposal += [
                lr for lr in next_peak_lrs(grid, tried, best, resolution, room, max_edge_steps) if lr not in proposal
            ]
        if not proposal:
            return []
        missing = [lr for lr in proposal if lr not in finished]
        if missing:
            return missing
        tried = sorted(set(tried) | set(proposal))
