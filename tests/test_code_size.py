"""No module over 400 lines and no function over 60 lines: a reusable check over a folder of the package."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "tuneless"
MODULE_LIMIT = 400  # lines
FUNCTION_LIMIT = 60  # lines, from ``def`` to the last line of the body (decorators not counted)


def oversized(root: Path, module_limit: int = MODULE_LIMIT, function_limit: int = FUNCTION_LIMIT) -> list[str]:
    """The modules under ``root`` longer than ``module_limit`` lines and the functions (methods and nested ones
    included) longer than ``function_limit``, each as ``"path: what (lines)"``."""
    found = []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text()
        name = path.relative_to(root.parent)
        if (lines := len(text.splitlines())) > module_limit:
            found.append(f"{name}: module ({lines} lines)")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > function_limit:
                    found.append(f"{name}: {node.name} at line {node.lineno} ({length} lines)")
    return found


@pytest.mark.parametrize("root", [PACKAGE / "bench"], ids=lambda root: root.name)
def test_no_module_or_function_over_the_limits(root):
    assert oversized(root) == []


def test_the_check_finds_a_long_module_and_a_long_function(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(60))
    (tmp_path / "long.py").write_text(f"def long():\n{body}\n\n\ndef short():\n    return 1\n")
    (tmp_path / "ok.py").write_text("def f():\n    return 1\n")
    assert oversized(tmp_path) == [f"{tmp_path.name}/long.py: long at line 1 (61 lines)"]
    assert oversized(tmp_path, module_limit=64, function_limit=61) == [f"{tmp_path.name}/long.py: module (65 lines)"]
    assert oversized(tmp_path, module_limit=65, function_limit=61) == []
