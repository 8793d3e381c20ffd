"""A missing optional dependency: the library raises an ImportError naming the extra, the CLI prints one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tuneless.cli import main
from tuneless.extras import EXTRA_OF, MissingExtraError, missing_extra, require

SRC = str(Path(__file__).resolve().parents[1] / "src")

# A fresh interpreter in which the optional packages cannot be imported: the base install (numpy + scipy).
BASE_INSTALL = """
import sys
BLOCKED = set(sys.argv[1].split(","))
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Block())
sys.argv = sys.argv[1:]
"""


def run_base_install(code: str, *args: str, blocked: str = ",".join(EXTRA_OF)) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.run(
        [sys.executable, "-c", BASE_INSTALL + code, blocked, *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_bench_list_without_the_bench_extra_is_one_line_and_exit_2():
    proc = run_base_install("from tuneless.cli import main; sys.exit(main(sys.argv[1:]))", "bench", "list")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "tuneless bench: error: tuneless bench needs rich, which is not installed: pip install 'tuneless[bench]'"
    ]
    assert proc.stdout == ""


def test_schedules_plot_without_matplotlib_names_the_plot_extra(tmp_path: Path):
    out = str(tmp_path / "s.png")
    proc = run_base_install(
        "from tuneless.cli import main; sys.exit(main(sys.argv[1:]))",
        *["schedules", "plot", "linear", "--steps", "10", "-o", out],
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == (
        "tuneless schedules: error: plotting needs matplotlib, which is not installed: pip install 'tuneless[plot]'"
    )
    assert not Path(out).exists()


def test_importing_tuneless_torch_without_torch_raises_import_error_naming_the_extra():
    code = """
try:
    import tuneless.torch
except ImportError as err:
    print(type(err).__name__, err)
import tuneless.schedules, tuneless.refine, tuneless.laws  # the core works on the base install
print(tuneless.schedules.parse_schedule("linear")(5, 10))
"""
    proc = run_base_install(code, blocked="torch")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "MissingExtraError tuneless.torch needs torch, which is not installed: pip install 'tuneless[torch]'",
        "0.5",
    ]


def test_require_and_missing_extra():
    assert require("math", "nothing").sqrt(4.0) == 2.0
    with pytest.raises(ModuleNotFoundError) as info:  # not an optional dependency: the error stays as it was
        require("no_such_module_xyz", "x")
    assert not isinstance(info.value, MissingExtraError)
    err = missing_extra(ModuleNotFoundError("No module named 'optax.schedules'", name="optax.schedules"), "as_optax")
    assert isinstance(err, ImportError) and str(err) == (
        "as_optax needs optax, which is not installed: pip install 'tuneless[jax]'"
    )
    assert missing_extra(ImportError("cannot import name 'x' from 'rich'", name="rich")) is None


def test_every_extra_named_is_declared_in_pyproject():
    text = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    for distribution, extra in EXTRA_OF.values():
        section = text.split(f"\n{extra} = [", 1)[1].split("]", 1)[0]
        assert f'"{distribution}>=' in section, (distribution, extra)


def test_cli_reraises_an_import_error_that_is_not_a_missing_extra(monkeypatch):
    import tuneless.schedules.cli as schedules_cli

    def broken(args):
        raise ImportError("cannot import name 'x' from 'numpy'", name="numpy")

    monkeypatch.setattr(schedules_cli, "_list", broken)
    with pytest.raises(ImportError, match="cannot import name"):
        main(["schedules", "list"])
