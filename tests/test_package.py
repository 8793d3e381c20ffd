"""The package's shape: no import cycle inside ``tuneless``, every module imports alone, no overlong function."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "tuneless"
LONGEST_FUNCTION_LIMIT = 122  # lines: the longest function in src/ when this test was written (bench.runner.run_trial)


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(name: str, path: Path) -> set[str]:
    """The tuneless modules ``name`` imports anywhere in its source (top level or inside functions)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            # "from pkg import mod" imports the module pkg.mod when it is one, else a name of pkg.
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        found |= {t for t in targets if t in MODULES and t != name}
    return found


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 visiting, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycle_inside_tuneless():
    graph = {name: imported_modules(name, path) for name, path in MODULES.items()}
    assert graph["tuneless.schedules._base"] >= {"tuneless.schedules.grammar", "tuneless.schedules.params"}
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_schedule_grammar_and_params_are_leaves():
    assert imported_modules("tuneless.schedules.grammar", MODULES["tuneless.schedules.grammar"]) == set()
    assert imported_modules("tuneless.schedules.params", MODULES["tuneless.schedules.params"]) == {
        "tuneless.schedules.grammar"
    }


def test_every_module_imports_alone_in_a_fresh_interpreter():
    # A child per module, forked from an interpreter that has imported the third-party packages (numpy, scipy,
    # torch, ...) but no tuneless module: each child imports one tuneless module into an empty tuneless namespace.
    code = """
import importlib, os, sys
for heavy in ("numpy", "scipy.optimize", "scipy.stats", "torch", "matplotlib.pyplot", "jax", "optax", "rich"):
    try:
        importlib.import_module(heavy)
    except ImportError:
        pass
assert not any(m.startswith("tuneless") for m in sys.modules)
failed = []
for name in sys.argv[1:]:
    pid = os.fork()
    if pid == 0:
        try:
            importlib.import_module(name)
            os._exit(0)
        except BaseException as err:
            print(f"{name}: {type(err).__name__}: {err}", flush=True)
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    failed += [name] if status else []
print("failed:" + ",".join(failed))
"""
    proc = subprocess.run(
        [sys.executable, "-c", code, *MODULES], capture_output=True, text=True, timeout=240, env=_env()
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "failed:", proc.stdout


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "PYTHONPATH": str(SRC)}


def function_lengths() -> list[tuple[int, str]]:
    out = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out.append((node.end_lineno - node.lineno + 1, f"{name}.{node.name} (line {node.lineno})"))
    return sorted(out, reverse=True)


def test_longest_function_in_src_is_shorter_than_before():
    length, where = function_lengths()[0]
    assert length < LONGEST_FUNCTION_LIMIT, f"{where} has {length} lines"


ROOT = SRC.parent
# Spelled in pieces so that this file does not itself contain what it looks for (the pre-stop check greps too).
MACHINE_PATHS = tuple(
    "".join(parts)
    for parts in (("/wo", "rk/"), ("..", "/shared"), ("shared", "/data"), ("REFERENCES", ".md"), ("bench", "_contract"))
)


def files_mentioning_machine_paths() -> list[str]:
    paths = [ROOT / "README.md", ROOT / "Makefile"]
    for folder in ("src", "tests", "benchmarks", "docs"):
        paths += [p for p in (ROOT / folder).rglob("*") if p.is_file() and p.suffix in (".py", ".md", ".json", "")]
    return [
        f"{p.relative_to(ROOT)}: {word}"
        for p in paths
        for word in MACHINE_PATHS
        if word in p.read_text(errors="replace")
    ]


def test_nothing_refers_to_a_machine_path_or_a_file_outside_the_repository():
    assert files_mentioning_machine_paths() == []


def test_version_is_the_installed_distributions(capsys):
    from importlib.metadata import version

    import pytest

    from tuneless.cli import main

    with pytest.raises(SystemExit) as exit:
        main(["--version"])
    assert exit.value.code == 0 and capsys.readouterr().out == f"tuneless {version('tuneless')}\n"


def test_error_text_rewrites_only_an_oserror_on_one_named_file():
    from tuneless.cli import error_text

    missing = FileNotFoundError(2, "No such file or directory", "x.csv")
    assert error_text(missing) == "'x.csv': no such file or directory"
    assert error_text(OSError(9, "Bad file descriptor", 3)) == "[Errno 9] Bad file descriptor: 3"  # a descriptor
    two = OSError(18, "Invalid cross-device link", "a", None, "b")  # (errno, text, filename, winerror, filename2)
    assert error_text(two) == str(two) and "'b'" in error_text(two)
    assert error_text(ValueError("--lr -1 must be > 0")) == "--lr -1 must be > 0"
