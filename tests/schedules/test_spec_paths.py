"""Spec text only at the edges: a spec string is matched and converted once on its way to a schedule; the library
builds schedules as objects (hparams, OnlineRefinedLR's start) equal to what the specs they replaced gave; one
``SPEC@STEPS`` parser; one weighting check."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tuneless import schedules as S
from tuneless.hparams import nadamw_list
from tuneless.laws.choose import FAMILIES, WSD_SHAPES, _family_member, _with_warmup
from tuneless.refine.online import online_plan
from tuneless.refine.refinement import WEIGHTINGS, check_weighting, refine
from tuneless.schedules import _base
from tuneless.schedules.grammar import split_steps

#: spec -> the number of schedules in it
SCHEDULES_IN = {
    "linear": 1,
    "cosine(floor=0.1)": 1,
    "step(milestones=[0.2,0.7],factor=0.5)": 1,
    "wsd(0.3,shape=1-sqrt)": 1,
    "tabulated([1,0.5,0])": 1,
    "warmup(cosine(floor=0.1),fraction=0.05)": 2,
    "join([constant,warmup(linear,steps=3)],[0.5])": 4,
}
SPECS = list(SCHEDULES_IN)


@pytest.mark.parametrize("spec", SPECS)
def test_each_schedule_of_a_spec_is_matched_once_and_round_trips(spec, monkeypatch):
    calls = []
    real = _base.match_arguments
    monkeypatch.setattr(_base, "match_arguments", lambda owner, *a, **k: calls.append(owner) or real(owner, *a, **k))
    schedule = S.parse_schedule(spec)
    assert len(calls) == SCHEDULES_IN[spec]  # once per schedule of the spec (it was twice)
    monkeypatch.setattr(_base, "match_arguments", real)
    assert schedule == S.parse_schedule(schedule.spec) == S.from_dict(schedule.to_dict())
    assert S.parse_schedule("tabulated([1,0.5,0])").meta == {}


def test_bound_schedule_checks_the_horizon_once_when_bound(monkeypatch):
    with pytest.raises(ValueError, match="warmup: steps=100 must be < total_steps=100"):
        S.warmup(S.cosine(), steps=100).bind(100)
    bound = S.warmup(S.cosine(), steps=10).bind(100, scale=2.0)
    expected = 2.0 * S.warmup(S.cosine(), steps=10).values(100)[50]
    monkeypatch.setattr(_base, "check_total_steps", lambda *a: pytest.fail("total_steps checked again"))
    assert bound(50) == expected
    with pytest.raises(ValueError, match="step must be finite and >= 0"):
        bound(-1)


@pytest.mark.parametrize("kind", ["cosine", "linear"])
def test_hparams_schedules_equal_the_specs_they_replace(kind):
    for point in nadamw_list(5):
        expected = S.parse_schedule(f"warmup({kind},fraction={point.warmup_fraction!r})")
        assert point.schedule(kind) == expected and point.schedule(kind).spec == expected.spec


@given(spec=st.sampled_from(SPECS), steps=st.integers(-(10**12), 10**12))
def test_split_steps_round_trips_and_leaves_a_bare_spec(spec, steps):
    assert split_steps(f"{spec}@{steps}") == (spec, steps)
    assert split_steps(spec) == (spec, None)


@pytest.mark.parametrize("text", ["linear@", "linear@1.5", "linear@x", "cosine@1e3"])
def test_split_steps_refuses_non_integer_steps(text):
    with pytest.raises(ValueError, match=r"STEPS after '@' must be an integer, got '"):
        split_steps(text)


@pytest.mark.parametrize(
    ("call", "owner"),
    [
        (lambda w: refine([1.0, 2.0, 3.0], w), "refine"),
        (lambda w: online_plan([1.0, 2.0], 10, w), "online refinement"),
        (lambda w: check_weighting(w, "OnlineRefinedLR"), "OnlineRefinedLR"),
    ],
)
def test_one_weighting_check_names_its_caller(call, owner):
    with pytest.raises(ValueError, match=rf"^{owner}: weighting='lion' is not allowed: must be one of sgd, adam$"):
        call("lion")
    assert check_weighting("adam") == WEIGHTINGS["adam"] == ("grad_l1", 1)


@given(
    family=st.sampled_from(sorted(FAMILIES)),
    fraction=st.floats(0.0, 1.0),
    shape=st.sampled_from(WSD_SHAPES),
    warmup_steps=st.sampled_from([0, 7, 2160]),
)
def test_best_schedule_candidates_are_the_schedules_their_specs_name(family, fraction, shape, warmup_steps):
    name, (lo, hi), template = FAMILIES[family]
    x = lo + fraction * (hi - lo)
    shape = shape if family == "wsd" else None
    spec = _with_warmup(template.format(x=x, shape=shape), warmup_steps)
    assert _family_member(family, x, shape, warmup_steps) == S.parse_schedule(spec)
