"""Code size limits (issue #28): no function over 60 lines in src/tuneless. The checker is parametrised by root and
limits, so each part of the package can state its own (bench/ adds a module limit of 400 lines)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "tuneless"
MAX_FUNCTION_LINES = 60


def function_lengths(path: Path) -> Iterator[tuple[str, int, int]]:
    """(qualified name, first line, length in lines) of every function and method in ``path``, nested ones too; the
    length runs from the ``def`` line (decorators excluded) to the function's last line, docstring included."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))

    def walk(node: ast.AST, prefix: str) -> Iterator[tuple[str, int, int]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{prefix}{child.name}"
                yield name, child.lineno, child.end_lineno - child.lineno + 1
                yield from walk(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                yield from walk(child, f"{prefix}{child.name}.")
            else:
                yield from walk(child, prefix)

    yield from walk(tree, "")


def module_lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def python_files(root: Path, exclude: tuple[str, ...] = ()) -> list[Path]:
    """The .py files under ``root``, less those under the folders ``exclude`` (relative to ``root``)."""
    return sorted(
        p
        for p in root.rglob("*.py")
        if not any(p.relative_to(root).parts[: len(Path(e).parts)] == Path(e).parts for e in exclude)
    )


def oversized(
    root: Path, max_function_lines: int, max_module_lines: int | None = None, exclude: tuple[str, ...] = ()
) -> list[str]:
    """Every function longer than ``max_function_lines`` and every module longer than ``max_module_lines`` (None: no
    module limit) under ``root``, as ``path:line name (N lines)``."""
    found = []
    for path in python_files(root, exclude):
        where = path.relative_to(root.parent)
        if max_module_lines is not None and (n := module_lines(path)) > max_module_lines:
            found.append(f"{where} ({n} lines; limit {max_module_lines})")
        for name, line, length in function_lengths(path):
            if length > max_function_lines:
                found.append(f"{where}:{line} {name} ({length} lines; limit {max_function_lines})")
    return found


def test_no_function_over_60_lines_outside_bench():
    assert oversized(SRC, MAX_FUNCTION_LINES, exclude=("bench",)) == []


def test_bench_no_module_over_400_lines_and_no_function_over_60():
    assert oversized(SRC / "bench", MAX_FUNCTION_LINES, max_module_lines=400) == []


def test_the_checker_finds_long_functions_and_modules(tmp_path):
    root = tmp_path / "pkg"
    (root / "skip").mkdir(parents=True)
    body = "".join(f"    x{i} = {i}\n" for i in range(60))  # 60 lines: with its def line, a 61-line function
    method = body.replace("    x", "        x")
    (root / "long.py").write_text(f"class A:\n    def f(self):\n{method}\n\ndef g():\n    return 1\n")
    (root / "skip" / "also_long.py").write_text(f"def h():\n{body}")
    assert [name for name, _, _ in function_lengths(root / "long.py")] == ["A.f", "g"]
    assert dict((name, n) for name, _, n in function_lengths(root / "long.py")) == {"A.f": 61, "g": 2}
    assert oversized(root, 61) == []
    assert oversized(root, 60, exclude=("skip",)) == ["pkg/long.py:2 A.f (61 lines; limit 60)"]
    assert oversized(root, 60) == [
        "pkg/long.py:2 A.f (61 lines; limit 60)",
        "pkg/skip/also_long.py:1 h (61 lines; limit 60)",
    ]
    assert oversized(root, 100, max_module_lines=10, exclude=("skip",)) == ["pkg/long.py (66 lines; limit 10)"]


@pytest.mark.parametrize("exclude", [("bench",), ("bench/workloads",)])
def test_exclude_is_a_folder_prefix(exclude, tmp_path):
    files = python_files(SRC, exclude)
    assert files and not any(Path(*exclude[0].split("/")) in f.relative_to(SRC).parents for f in files)
    assert (SRC / "cli.py") in files
