"""One name per schedule: the registry name is the spec word, the JSON name and the constructor's name."""

from __future__ import annotations

from tuneless import schedules as S


def test_every_schedule_is_constructed_under_its_registry_name():
    assert len(S.registry) == 14
    for name, cls in S.registry.items():
        assert getattr(S, name) is cls and cls.name == name
        assert name in S.__all__ and cls.__name__ in S.__all__
        assert cls.__name__.lower() == name.replace("_", "")  # the class is the name in CamelCase


def test_no_second_lower_case_name_for_a_schedule():
    lower = {n for n in S.__all__ if n[0].islower() and isinstance(getattr(S, n), type)}
    assert lower == set(S.registry)
