"""Leave-one-workload-out calibration of the one-run methods (tuneless.auto.calibration)."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuneless.auto.calibration import CalibrationRow, constants, geometric_median, load_rows

lrs = st.floats(1e-5, 1e3, allow_nan=False)


def row(name, family="sgd", best=1.0, cap=10.0, min_loss=2.0, sf=None):
    best_lr = {"linear": best} if sf is None else {"linear": best, "schedulefree": sf}
    pilot = {m: {"cap": cap, "min_loss": min_loss} for m in best_lr}
    return CalibrationRow(name, family, 300, best_lr, pilot)


def test_geometric_median_closed_forms():
    assert geometric_median([1.0, 100.0]) == pytest.approx(10.0, rel=1e-12)
    assert geometric_median([0.1, 3.0, 1000.0]) == pytest.approx(3.0, rel=1e-12)
    assert geometric_median([5.0]) == pytest.approx(5.0, rel=1e-12)
    with pytest.raises(ValueError, match="no values"):
        geometric_median([])


def test_constants_closed_form():
    rows = [row("a", best=1.0, cap=10.0, min_loss=2.0), row("b", best=4.0, cap=10.0, min_loss=1.0)]
    c = constants(rows, "sgd")
    assert c.control_lr == pytest.approx(2.0)  # sqrt(1 * 4)
    assert c.ratio["linear"]["cap"] == pytest.approx(math.sqrt(0.1 * 0.4))
    assert c.ratio["linear"]["min_loss"] == pytest.approx(math.sqrt(0.5 * 4.0))
    # the peak lr is the smaller of the two scaled features
    assert c.peak_lr("linear", {"cap": 100.0, "min_loss": 1.0}) == pytest.approx(math.sqrt(2.0))
    assert c.peak_lr("linear", {"cap": 1.0, "min_loss": 100.0}) == pytest.approx(0.2)
    with pytest.raises(ValueError, match="'cosine' has no calibrated ratio"):
        c.peak_lr("cosine", {"cap": 1.0})


@settings(deadline=None, max_examples=60)
@given(st.lists(st.tuples(lrs, lrs, lrs), min_size=2, max_size=8), st.tuples(lrs, lrs, lrs), st.data())
def test_a_workload_never_sets_its_own_constants(others, changed, data):
    """Leave one workload out: whatever the held-out workload's grid and pilot say, its constants do not move."""
    rows = [row(f"w{i}", best=b, cap=c, min_loss=m) for i, (b, c, m) in enumerate(others)]
    held = data.draw(st.integers(0, len(rows) - 1))
    before = constants(rows, "sgd", exclude=f"w{held}")
    b, c, m = changed
    rows[held] = row(f"w{held}", best=b, cap=c, min_loss=m)
    after = constants(rows, "sgd", exclude=f"w{held}")
    assert after == before
    assert f"w{held}" not in after.workloads
    # and it is the constants of the table without that row
    assert after == constants([r for r in rows if r.workload != f"w{held}"], "sgd")


def test_families_do_not_mix_and_an_empty_family_is_an_error():
    rows = [row("s", "sgd", best=1.0), row("a", "adam", best=1e-3)]
    assert constants(rows, "adam").control_lr == pytest.approx(1e-3)
    with pytest.raises(ValueError, match="no calibrated adam workload besides 'a'"):
        constants(rows, "adam", exclude="a")


def test_a_method_without_grid_results_on_some_rows():
    rows = [row("a", best=1.0, sf=0.5), row("b", best=2.0)]
    c = constants(rows, "sgd")
    assert c.ratio["schedulefree"]["cap"] == pytest.approx(0.05)  # from row a only


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf])
def test_bad_rows(bad):
    with pytest.raises(ValueError, match="must be finite and > 0"):
        row("x", cap=bad)


def test_shipped_table_covers_both_families():
    rows = load_rows()
    assert {r.family for r in rows} == {"sgd", "adam"}
    for family in ("sgd", "adam"):
        c = constants(rows, family)
        assert set(c.ratio["linear"]) == {"cap", "min_loss"}
        # the calibrated run stays below the instability the pilot saw
        assert 0 < c.ratio["linear"]["cap"] < 1
