"""The claims figure: paired differences in percent of the second method's mean, signed so that > 0 = better."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tuneless.bench.record.store import Store
from tuneless.bench.report.tables import claim_figure
from tuneless.bench.score.claims import claim_panels, relative_difference
from tuneless.bench.score.paired import PairedComparison
from tuneless.bench.score.scoring import per_seed_final_metrics, score_trials
from tuneless.cli import main

from .conftest import hand_made_run


def _comparison(estimate: float, low: float, high: float) -> PairedComparison:
    return PairedComparison((0, 1, 2, 3, 4), (estimate,) * 5, estimate, low, high, 0.95, "tie")


def test_relative_difference_by_hand():
    # bits per byte (lower is better): a - b = -0.05 on b's mean 2.5 -> a is 2% better; interval [-0.08, -0.02]
    estimate, low, high = relative_difference(_comparison(-0.05, -0.08, -0.02), 2.5, higher_is_better=False)
    assert (estimate, low, high) == pytest.approx((2.0, 0.8, 3.2))
    # accuracy (higher is better): a - b = -0.002 on 0.8 -> -0.25%, interval ends keep low <= high
    estimate, low, high = relative_difference(_comparison(-0.002, -0.004, 0.001), 0.8, higher_is_better=True)
    assert (estimate, low, high) == pytest.approx((-0.25, -0.5, 0.125))


@given(
    st.floats(-1e3, 1e3),
    st.floats(0, 1e3),
    st.floats(0, 1e3),
    st.floats(1e-6, 1e6) | st.floats(-1e6, -1e-6),
    st.booleans(),
)
def test_relative_difference_orders_its_interval_and_flips_with_the_direction(mid, below, above, reference, higher):
    comparison = _comparison(mid, mid - below, mid + above)
    estimate, low, high = relative_difference(comparison, reference, higher)
    assert low <= estimate <= high or math.isclose(low, estimate) or math.isclose(estimate, high)
    flipped = relative_difference(comparison, reference, not higher)
    assert flipped == pytest.approx((-estimate, -high, -low))


@pytest.mark.parametrize("reference", [0.0, math.nan, math.inf])
def test_relative_difference_refuses_a_reference_it_cannot_divide_by(reference):
    with pytest.raises(ValueError, match="reference"):
        relative_difference(_comparison(0.1, 0.0, 0.2), reference, True)


def _run(path, finals):
    hand_made_run(path, finals, seeds=5, higher_is_better=False)


def _linear_better_than_cosine(store):
    # loss, lower is better: linear 0.40..0.44, cosine 0.45..0.49 on seeds 0..4 -> a - b = -0.05 on every seed
    finals = {("linear", s): 0.40 + 0.01 * s for s in range(5)}
    finals.update({("cosine", s): 0.45 + 0.01 * s for s in range(5)})
    _run(store, finals)


def test_claim_panels_by_hand(tmp_path):
    store = tmp_path / "s.sqlite"
    _linear_better_than_cosine(store)
    with Store(store, read_only=True) as opened:
        trials = opened.trials("r")
    panels = claim_panels(score_trials(trials), per_seed_final_metrics(trials))
    # only claim 1's methods ran; cosine's mean over the common seeds is 0.47: 0.05 / 0.47 = 10.64% better,
    # every resample of equal differences gives the same mean, so the interval is that point; 5 seeds: "better"
    assert list(panels) == ["linear vs cosine"]
    ((workload, estimate, low, high, verdict),) = panels["linear vs cosine"]
    assert workload == "w" and verdict == "better"
    assert (estimate, low, high) == pytest.approx((100 * 0.05 / 0.47,) * 3)


def test_tables_command_draws_the_claims_figure(tmp_path, capsys):
    store = tmp_path / "s.sqlite"
    _linear_better_than_cosine(store)
    figure = tmp_path / "claims.png"
    assert main(["bench", "tables", "--store", str(store), "-o", str(tmp_path / "t.md"), "--figure", str(figure)]) == 0
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {figure}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "message"),
    [("claims", "no file suffix"), ("claims.txt", "unknown figure format 'txt'"), ("t.md", "-o/--output")],
)
def test_figure_paths_that_cannot_be_a_figure_are_refused_before_any_work(tmp_path, capsys, name, message):
    store = tmp_path / "s.sqlite"
    _linear_better_than_cosine(store)
    argv = ["bench", "tables", "--store", str(store), "-o", str(tmp_path / "t.md"), "--figure", str(tmp_path / name)]
    assert main(argv) != 0
    err = capsys.readouterr().err
    assert "--figure" in err and message in err
    assert not (tmp_path / "t.md").exists()  # refused before the tables were written


def test_no_figure_without_a_claims_pair(tmp_path):
    store = tmp_path / "s.sqlite"
    _run(store, {("linear", s): 0.4 for s in range(5)})
    assert claim_figure(str(store), tmp_path / "c.png") is None
    assert not (tmp_path / "c.png").exists()


def test_figure_into_a_folder_is_refused_before_any_work(tmp_path, capsys):
    store = tmp_path / "s.sqlite"
    _run(store, {("linear", s): 0.4 for s in range(5)})
    assert main(["bench", "tables", "--store", str(store), "--figure", str(tmp_path)]) != 0
    assert "--figure" in capsys.readouterr().err


def test_a_one_workload_figure_is_tall_enough_and_symmetric_about_zero(tmp_path, monkeypatch):
    from tuneless.bench.report import figures

    drawn = {}
    monkeypatch.setattr("tuneless.plotting.save", lambda fig, path: drawn.setdefault("fig", fig) and path)
    figures.plot_claims({"linear vs cosine": [("w", 0.7, 0.17, 1.03, "better")]}, tmp_path / "c.png")
    fig = drawn["fig"]
    (ax,) = [a for a in fig.axes if a.get_visible()]
    assert fig.get_figheight() >= 2.2  # was 1.42 in: a strip with no room for the interval
    low, high = ax.get_xlim()
    assert low == pytest.approx(-high) and high == pytest.approx(1.15 * 1.03)  # the interval, 15% of margin
    assert [t.get_text() for t in ax.get_xticklabels() if t.get_text()] == ["-1%", "0%", "1%"]
