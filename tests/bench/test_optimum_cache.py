"""The logistic-regression optimum cache: a wrong or broken cache is recomputed or refused naming the file, never
used to report a negative loss gap."""

from __future__ import annotations

import json

import pytest

from tuneless.bench.catalog.workloads.logreg import LogisticRegression, optima_cache


@pytest.fixture
def iris(tmp_path, monkeypatch):
    monkeypatch.setenv("TUNELESS_CACHE", str(tmp_path / "cache"))
    workload = LogisticRegression("iris")
    workload.prepare([0])
    return workload


def test_a_cached_optimum_above_the_loss_at_zero_is_recomputed(iris):
    path = optima_cache()
    right = json.loads(path.read_text())
    (key,) = right
    path.write_text(json.dumps({key: right[key] + 5.0}))  # above f(0) = log(3): impossible for a minimum
    _, data = iris.build(0)
    assert data["f_star"] == pytest.approx(right[key], abs=1e-9)
    assert json.loads(path.read_text())[key] == pytest.approx(right[key], abs=1e-9)  # the cache is rewritten


def test_a_loss_below_the_cached_optimum_fails_naming_the_cache(iris):
    path = optima_cache()
    right = json.loads(path.read_text())
    (key,) = right
    model, data = iris.build(0)
    path.write_text(json.dumps({key: right[key] + 0.05}))  # wrong, but below f(0): only training can show it
    data["f_star"] = right[key] + 0.05
    import torch

    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    for step in range(300):
        optimizer.zero_grad()
        iris.train_loss(model, data, step).backward()
        optimizer.step()
    with pytest.raises(ValueError, match=rf"below the cached optimum .*{path}.* is wrong; delete it"):
        iris.evaluate(model, data)


def test_broken_json_names_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TUNELESS_CACHE", str(tmp_path / "cache"))
    optima_cache().parent.mkdir(parents=True)
    optima_cache().write_text('{"key": 1.0')
    with pytest.raises(ValueError, match=rf"optimum cache '{optima_cache()}' is unreadable .*delete it"):
        LogisticRegression("iris").prepare([0])
    optima_cache().write_text('{"key": "one"}')
    with pytest.raises(ValueError, match="does not map keys to finite numbers"):
        LogisticRegression("iris").prepare([0])


def test_a_cache_folder_that_is_a_file_is_a_one_line_error(tmp_path, monkeypatch):
    (tmp_path / "cache").write_text("not a folder")
    monkeypatch.setenv("TUNELESS_CACHE", str(tmp_path / "cache"))
    with pytest.raises(ValueError, match=rf"cache folder '{tmp_path / 'cache'}' is a file"):
        LogisticRegression("iris").prepare([0])


def test_a_cache_that_cannot_be_written_is_a_one_line_error(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    (cache / "logreg-optima.json").mkdir(parents=True)  # the cache file is a folder
    monkeypatch.setenv("TUNELESS_CACHE", str(cache))
    with pytest.raises(ValueError, match="is not a file; remove it"):
        LogisticRegression("iris").prepare([0])
