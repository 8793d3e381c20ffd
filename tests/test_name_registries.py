"""The registries outside the benchmark (schedules, laws) are ``tuneless.registry.Registry``: a second thing under a
taken name is an error, never a silent overwrite, and the first one stays."""

from __future__ import annotations

import pytest

from tuneless import schedules as S
from tuneless.laws import LAWS, BoundLaw, make_law
from tuneless.registry import Registry


def test_a_schedule_class_under_a_taken_name_is_refused_and_the_first_kept():
    assert isinstance(S.registry, Registry)
    with pytest.raises(ValueError, match="schedule 'linear' is already registered"):

        class Impostor(S.Schedule):
            name = "linear"

    assert S.registry["linear"] is S.Linear
    assert S.parse_schedule("linear")(5, 10) == 0.5


def test_a_law_under_a_taken_name_is_refused_and_unknown_laws_list_the_known():
    assert isinstance(LAWS, Registry) and list(LAWS) == ["multipower", "annealing", "saturated", "bound"]
    with pytest.raises(ValueError, match="law 'bound' is already registered"):
        LAWS.add("bound", object)
    assert LAWS["bound"] is BoundLaw
    with pytest.raises(ValueError, match="unknown law 'power'; known: multipower, annealing, saturated, bound"):
        make_law("power")
