"""tuneless.registry: one registry kind for the package; a duplicate name is an error."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tuneless.registry import Registry


@given(st.lists(st.text(min_size=1, max_size=8), unique=True, max_size=20))
def test_order_and_mapping(names):
    reg = Registry[int]("thing")
    for i, name in enumerate(names):
        assert reg.add(name, i) == i
    assert list(reg) == names
    assert len(reg) == len(names)
    assert all(reg[n] == i and reg.get_known(n) == i for i, n in enumerate(names))


def test_duplicate_is_an_error_and_keeps_the_first():
    reg = Registry[int]("method")
    reg.add("linear", 1)
    with pytest.raises(ValueError, match="method 'linear' is already registered"):
        reg.add("linear", 2)
    assert reg["linear"] == 1


def test_unknown_name_lists_the_known():
    reg = Registry[int]("suite")
    reg.add("quick", 1)
    reg.add("full", 2)
    with pytest.raises(ValueError, match=r"unknown suite 'long'; known: quick, full"):
        reg.get_known("long")
    with pytest.raises(KeyError):
        reg["long"]


@pytest.mark.parametrize("bad", ["", None, 3])
def test_bad_names(bad):
    with pytest.raises(ValueError, match="name must be a non-empty string"):
        Registry[int]("workload").add(bad, 1)


def test_remove():
    reg = Registry[int]("optimizer")
    reg.add("sgd", 1)
    assert reg.remove("sgd") == 1
    assert "sgd" not in reg
    reg.add("sgd", 2)
    assert reg["sgd"] == 2
