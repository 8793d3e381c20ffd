"""bench/ is split into rooms (sub-packages) whose imports point one way; the test reads every module's imports.

catalog <- record <- score <- report, and run uses catalog, record and score. The report never imports the
catalog (the live registries): what it says of a method comes from the store. Only the modules directly in
bench/ (``cli``, ``benchmark``, the package's ``__init__``) join rooms that do not see each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "src" / "tuneless" / "bench"
ROOMS = ("catalog", "record", "score", "report", "run")
ALLOWED = {  # room -> the other rooms it may import
    "catalog": set(),
    "record": {"catalog"},
    "score": {"catalog", "record"},
    "report": {"record", "score"},
    "run": {"catalog", "record", "score"},
}


def room_of(module: str) -> str | None:
    """``tuneless.bench.<room>...`` -> room; a module directly in bench/ (or outside it) -> None."""
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[:2] == ["tuneless", "bench"] and parts[2] in ROOMS else None


def imports_of(path: Path, root: Path = BENCH) -> set[str]:
    """The absolute names of the modules (or packages) the file of ``root`` (bench/) imports, at top level or
    inside functions."""
    parts = ("tuneless", *path.relative_to(root.parent).with_suffix("").parts)
    package = list(parts if path.name == "__init__.py" else parts[:-1])
    if path.name == "__init__.py":
        package = package[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found |= {f"{module}.{alias.name}" for alias in node.names} if node.module is None else {module}
    return found


def violations(root: Path = BENCH) -> list[str]:
    """Every import from one room into a room it may not use, or into a module directly in bench/."""
    out = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if len(relative.parts) == 1:
            continue  # cli, benchmark, __init__: may import every room
        room = relative.parts[0]
        for module in sorted(imports_of(path, root)):
            if not module.startswith("tuneless.bench"):
                continue
            other = room_of(module)
            if other is None:
                out.append(f"{relative} imports {module}: a room never imports the modules above the rooms")
            elif other != room and other not in ALLOWED[room]:
                out.append(f"{relative} imports {module}: {room} may import only {sorted(ALLOWED[room]) or 'nothing'}")
    return out


def test_every_module_is_in_a_room():
    loose = sorted(p.name for p in BENCH.glob("*.py"))
    assert loose == ["__init__.py", "benchmark.py", "cli.py"]
    assert sorted(p.name for p in BENCH.iterdir() if (p / "__init__.py").is_file()) == sorted(ROOMS)


def test_the_rooms_import_in_the_allowed_directions():
    assert violations() == []


@pytest.mark.parametrize("room", ROOMS)
def test_each_room_states_its_rule(room):
    doc = ast.get_docstring(ast.parse((BENCH / room / "__init__.py").read_text()))
    assert doc is not None and "Rule: imports" in doc


def test_the_report_never_reads_the_method_registry():
    report = list((BENCH / "report").rglob("*.py"))
    assert report and not any("METHODS" in p.read_text() for p in report)


def test_the_import_reader_sees_a_forbidden_import(tmp_path):
    root = tmp_path / "bench"
    for room in ROOMS:
        (root / room).mkdir(parents=True)
        (root / room / "__init__.py").write_text("")
    (root / "report" / "page.py").write_text("def f():\n    from ..catalog.methods import METHODS\n")
    (root / "run" / "go.py").write_text("from ..score import scoring\nfrom ..cli import main\n")
    (root / "record" / "store.py").write_text("from ..catalog import methods\nimport numpy\n")
    assert violations(root) == [
        "report/page.py imports tuneless.bench.catalog.methods: report may import only ['record', 'score']",
        "run/go.py imports tuneless.bench.cli: a room never imports the modules above the rooms",
    ]
