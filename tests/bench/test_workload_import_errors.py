"""A user workload file that fails to import gives one line naming the file and the line, and exit status 2."""

from __future__ import annotations

import pytest

from tuneless.cli import main

WORKLOAD_HEAD = "from tuneless.bench import Workload\n\n"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("class Mine(Workload):\n    name = (\n", "bad.py:4: SyntaxError: '(' was never closed"),
        ("x = 1\nraise RuntimeError('no data here')\n", "bad.py:4: importing it raised RuntimeError: no data here"),
        ("def f():\n    return {}['key']\n\nf()\n", "bad.py:4: importing it raised KeyError: 'key'"),
        ("class Other(Workload):\n    pass\n", "bad.py' has no 'Mine'; its workloads: ['Other']"),
    ],
    ids=["syntax error", "exception at import", "exception in a function it calls", "missing class"],
)
def test_a_workload_file_that_cannot_be_imported_is_one_line(tmp_path, capsys, body, expected):
    source = tmp_path / "bad.py"
    source.write_text(WORKLOAD_HEAD + body)
    store = tmp_path / "s.sqlite"
    argv = ["bench", "--workload", f"{source}:Mine", "--store", str(store), "--out", str(tmp_path / "out")]
    assert main([*argv, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"tuneless bench: error: workload='{source}:Mine': ")
    assert expected in err and str(tmp_path) in err
    assert not store.exists()  # nothing ran


def test_a_fixed_file_is_imported_afresh(tmp_path, capsys):
    from tuneless.bench.catalog.workload import load_workload_class

    source = tmp_path / "later.py"
    source.write_text(WORKLOAD_HEAD + "class Mine(Workload)\n")
    with pytest.raises(ValueError, match=r"later.py:3: SyntaxError"):
        load_workload_class(f"{source}:Mine")
    source.write_text(WORKLOAD_HEAD + "class Mine(Workload):\n    name = 'mine'\n")
    assert load_workload_class(f"{source}:Mine").name == "mine"


def test_a_module_that_fails_to_import_names_its_file_and_line(tmp_path, monkeypatch):
    from tuneless.bench.catalog.workload import load_workload_class

    (tmp_path / "broken_workload_module.py").write_text(WORKLOAD_HEAD + "1 / 0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ValueError, match=r"broken_workload_module.py:3: importing it raised ZeroDivisionError"):
        load_workload_class("broken_workload_module:Mine")
