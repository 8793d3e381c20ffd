"""Paired comparisons: the exact bootstrap against a hand computation, verdicts, and the claims tables."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuneless.bench.record.rows import TrialFinish, TrialStart
from tuneless.bench.record.store import Store
from tuneless.bench.report.tables import markdown_tables
from tuneless.bench.score.paired import bootstrap_interval, paired_comparison, paired_differences

from .trial_rows import quick_config


def test_exact_bootstrap_against_a_hand_computation():
    # Differences (1, 2, 6): the 27 equally likely resamples give the means 1 (1/27), 4/3 (3/27), 5/3 (3/27),
    # 2 (1/27), 8/3 (3/27), 3 (6/27), 10/3 (3/27), 13/3 (3/27), 14/3 (3/27), 6 (1/27).
    estimate, low, high = bootstrap_interval([1.0, 2.0, 6.0], "mean", 0.95)
    assert (estimate, low, high) == (3.0, 1.0, 6.0)  # P(mean = 1) = 1/27 >= 2.5%; P(mean < 6) = 26/27 < 97.5%
    estimate, low, high = bootstrap_interval([1.0, 2.0, 6.0], "mean", 0.8)
    assert low == pytest.approx(4 / 3)  # cumulative 4/27 = 0.148 >= 0.1 first at 4/3
    assert high == pytest.approx(14 / 3)  # cumulative 23/27 = 0.852 < 0.9 <= 26/27 at 14/3
    # Two seeds, (1, 3): resamples {1,1} 1/4, {1,3} 1/2, {3,3} 1/4 -> means 1, 2, 3
    assert bootstrap_interval([1.0, 3.0], "mean", 0.5) == (2.0, 1.0, 2.0)  # cdf(1) = 0.25, cdf(2) = 0.75
    # Lower median of resamples with a missed target (+inf) on one seed of three: (10, 20, inf)
    estimate, low, high = bootstrap_interval([10.0, 20.0, math.inf], "median", 0.95)
    assert (estimate, low, high) == (20.0, 10.0, math.inf)


def test_paired_differences_on_a_small_table():
    a = {0: 0.90, 1: 0.85, 2: 0.88, 3: 0.70}  # seed 3 only for a: not paired
    b = {0: 0.80, 1: 0.86, 2: 0.84}
    seeds, differences = paired_differences(a, b)
    assert seeds == (0, 1, 2)
    assert differences == pytest.approx((0.10, -0.01, 0.04))
    comparison = paired_comparison(a, b, higher_is_better=True)
    assert comparison.estimate == pytest.approx(0.13 / 3)
    assert comparison.low == pytest.approx(-0.01) and comparison.high == pytest.approx(0.10)
    assert comparison.verdict == "tie"  # 3 seeds < 5, and the interval contains 0 anyway
    assert paired_differences({0: math.inf}, {0: math.inf}) == ((0,), (0.0,))  # both missed: no difference
    assert paired_comparison({0: 1.0}, {1: 1.0}, True).verdict == "n/a"


def test_verdict_flips_to_tie_when_seeds_disagree():
    b = {s: 0.80 for s in range(5)}
    agree = {s: 0.82 + 0.001 * s for s in range(5)}
    assert paired_comparison(agree, b, higher_is_better=True).verdict == "better"
    assert paired_comparison(agree, b, higher_is_better=False).verdict == "worse"  # a loss: larger is worse
    disagree = {**agree, 4: 0.70}  # one seed says the opposite, by more than the others' gain
    comparison = paired_comparison(disagree, b, higher_is_better=True)
    assert comparison.low < 0 < comparison.high and comparison.verdict == "tie"
    assert paired_comparison(dict(list(agree.items())[:4]), b, True).verdict == "tie"  # 4 seeds: too few


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-10, 10), min_size=1, max_size=8), st.floats(0.5, 0.99))
def test_interval_contains_the_estimate_and_lies_within_the_data(differences, level):
    estimate, low, high = bootstrap_interval(differences, "mean", level)
    assert min(differences) - 1e-9 <= low <= high <= max(differences) + 1e-9
    zeros = dict.fromkeys(range(len(differences)), 0.0)
    if all(d > 0 for d in differences) and len(differences) >= 5:  # unanimous seeds: the interval excludes 0
        assert paired_comparison(dict(enumerate(differences)), zeros, True).verdict == "better"


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="statistic="):
        bootstrap_interval([1.0], "max")
    with pytest.raises(ValueError, match="level="):
        bootstrap_interval([1.0], "mean", 1.0)
    with pytest.raises(ValueError, match="differences="):
        bootstrap_interval([], "mean")


def _write_trial(store, run_id, method, seed, final, steps):
    tid = f"{method}-{seed}"
    store.write_rows(
        [
            TrialStart(tid, run_id, "w", method, 0.1, seed, "linear", "sgd", "acc", True, 0.5, 100),
            TrialFinish(tid, "done", None, 1.0, steps, None if steps is None else 0.5, final),
        ]
    )


def test_claims_table_shows_paired_interval_and_both_verdicts(tmp_path):
    path = tmp_path / "s.sqlite"
    with Store(path) as store:
        store.create_run("r", quick_config(5, lr_resolution=1.5))
        for seed in range(5):
            _write_trial(store, "r", "linear", seed, 0.90 + 0.01 * seed, 50)
            _write_trial(store, "r", "cosine", seed, 0.89 + 0.01 * seed, 60 if seed else None)
    text = markdown_tables(str(path), "r")
    assert "5 seeds; each grid method's best peak lr by fewest steps to target bracketed within a factor 1.5" in text
    with Store(path) as store:  # what a resumed run records: its measures, named in the header
        store.update_run_config("r", quick_config(5, lr_resolution=1.5, tune_by=["steps", "final"]))
    header = markdown_tables(str(path), "r").splitlines()[0]
    assert "best peak lr by fewest steps to target and final metric bracketed within a factor 1.5" in header
    row = [line for line in text.splitlines() if line.startswith("| w |")][-1]  # the claim 1 table
    cells = [c.strip() for c in row.strip("|").split("|")]
    # final: every seed +0.01 -> interval [0.01, 0.01], better; the noise rule (std 0.0158) calls it a tie
    assert cells[3] == "0.01 [0.01, 0.01]" and cells[4] == "linear better" and cells[5] == "linear tie"
    # steps: -10 on 4 seeds, -inf on seed 0 (cosine missed) -> lower median -10; better
    assert cells[8].startswith("-10 [")
    assert cells[9] == "linear better"
    assert "| linear vs cosine | 1 / 0 / 0 | w | - | 0 / 1 / 0 | 1 / 0 / 0 |" in text  # the at-a-glance row
    assert "Paired verdicts need at least" not in text


def test_online_vs_refined_counts_the_prior_runs_steps(tmp_path):
    """The claim "online vs offline refinement" compares steps including refined's prior run: refined reaches the
    target at 30 steps after a 100-step prior (130 in all), online at 50 with none, so online is better there,
    while claim 2 (refined vs linear, no prior counted) sees refined's 30 against linear's 40 as better."""
    path = tmp_path / "s.sqlite"
    rows = []
    for seed in range(5):
        for method, steps, prior in (
            ("refined-online", 50, None),
            ("refined", 30, f"linear-{seed}"),
            ("linear", 40, None),
        ):
            tid = f"{method}-{seed}"
            rows.append(
                TrialStart(
                    tid,
                    "r",
                    "w",
                    method,
                    0.1,
                    seed,
                    method,
                    "sgd",
                    "acc",
                    True,
                    0.5,
                    100,
                    prior,
                    0.0,
                    100 if prior else 0,
                )
            )
            rows.append(TrialFinish(tid, "done", None, 1.0, steps, 0.5, 0.9))
    with Store(path) as store:
        store.create_run("r", quick_config(5))
        store.write_rows(rows)
    text = markdown_tables(str(path), "r")
    sections = {part.split("\n", 1)[0]: part for part in text.split("### ")[1:]}
    online = sections["Online refinement vs offline refinement counted with its prior run"]
    row = [line for line in online.splitlines() if line.startswith("| w |")][0]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[6:] == ["50", "30", "-80 [-80, -80]", "refined-online better", "130"]
    assert "paired verdict (steps incl. prior)" in online
    claim2 = sections["Claim 2: refined vs linear decay"]
    row = [line for line in claim2.splitlines() if line.startswith("| w |")][0]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[6:] == ["30", "40", "-10 [-10, -10]", "refined better", "130"]
    # equal final metrics on every seed: a tie both ways
    assert cells[4] == "refined tie" and cells[5] == "refined tie"
    glance = sections["The claims at a glance"]
    assert "| refined-online vs refined (steps incl. prior) | 0 / 1 / 0 | - | - | 0 / 1 / 0 | 1 / 0 / 0 |" in glance
    assert "| refined vs linear | 0 / 1 / 0 | - | - | 0 / 1 / 0 | 1 / 0 / 0 |" in glance
    assert "steps refined-online (excl. prior) | steps refined (excl. prior) |" in online
    assert "Steps incl. prior: the method's best trial's steps plus every step" in online
    versus_linear = sections["Online refinement vs linear decay"]
    assert "steps refined-online incl. prior" not in versus_linear and "refined-online worse" in versus_linear


def test_a_failed_seed_leaves_fewer_common_seeds_and_the_glance_table_says_so(tmp_path):
    """5 seeds, linear better on each, but cosine's seed 4 failed: 4 common seeds -> a paired tie, named."""
    path = tmp_path / "s.sqlite"
    with Store(path) as store:
        store.create_run("r", quick_config(5))
        for seed in range(5):
            _write_trial(store, "r", "linear", seed, 0.90 + 0.01 * seed, 50)
            if seed < 4:
                _write_trial(store, "r", "cosine", seed, 0.80 + 0.01 * seed, 60)
            else:
                store.write_rows(
                    [
                        TrialStart("cosine-4", "r", "w", "cosine", 0.1, 4, "cosine", "sgd", "acc", True, 0.5, 100),
                        TrialFinish("cosine-4", "failed", "diverged"),
                    ]
                )
    text = markdown_tables(str(path), "r")
    row = [line for line in text.splitlines() if line.startswith("| linear vs cosine |")][0]
    assert row.startswith("| linear vs cosine | 0 / 1 / 0 | - | - |")
    assert row.endswith("; fewer than 5 common seeds: w (4 seeds) |")
