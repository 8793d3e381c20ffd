"""The integrations stay optional: lazy imports, an ImportError naming the extra, and a core install of numpy and
scipy only."""

from __future__ import annotations

import importlib
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[2]
MODULES = [
    ("tuneless.integrations.transformers", "transformers", "transformers"),
    ("tuneless.integrations.lightning", "lightning", "lightning"),
    ("tuneless.integrations.accelerate", "accelerate", "accelerate"),
    ("tuneless.integrations.timm", "timm", "timm"),
]


@pytest.mark.parametrize(("module", "package", "extra"), MODULES, ids=[m[2] for m in MODULES])
def test_a_missing_framework_raises_an_import_error_naming_the_extra(monkeypatch, module, package, extra):
    for name in list(sys.modules):
        if name == module or name == package or name.startswith(package + "."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, package, None)  # as if the package were not installed
    with pytest.raises(ImportError) as error:
        importlib.import_module(module)
    message = str(error.value)
    assert f"pip install 'tuneless[{extra}]'" in message and f"'{package}'" in message
    assert "\n" not in message


def test_importing_the_integrations_package_imports_no_framework():
    code = (
        "import sys, tuneless.integrations; "
        "print(sorted(m for m in ('transformers', 'lightning', 'timm', 'accelerate', 'torch') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_the_core_install_pulls_only_numpy_and_scipy_and_the_frameworks_are_extras():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {re.split(r"[<>=!~ \[]", requirement)[0] for requirement in project["dependencies"]}
    assert names == {"numpy", "scipy"}
    extras = project["optional-dependencies"]
    for extra, package in [("transformers", "transformers"), ("lightning", "lightning"), ("timm", "timm")]:
        assert any(requirement.startswith(package) for requirement in extras[extra]), extra
    assert any(requirement.startswith("accelerate") for requirement in extras["accelerate"])


def test_make_test_installs_every_integration():
    makefile = (ROOT / "Makefile").read_text()
    extras = re.search(r"-e '\.\[([^\]]+)\]'", makefile).group(1).split(",")
    assert {"transformers", "lightning", "accelerate"} <= set(extras)
    assert re.search(r"pip install .*--no-deps .*timm", makefile)


def broken_torchvision(folder: Path) -> dict[str, str]:
    """An installed torchvision that cannot load beside this torch, as PyPI's CUDA build beside a CPU torch fails
    (its import raises this RuntimeError); returns the environment that puts it first on the path."""
    package = folder / "torchvision"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('raise RuntimeError("operator torchvision::nms does not exist")\n')
    info = folder / "torchvision-0.28.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: torchvision\nVersion: 0.28.0\n")
    (info / "RECORD").write_text("")
    return {"PYTHONPATH": f"{folder}{':' + str(ROOT / 'src')}", "PATH": "/usr/bin:/bin"}


@pytest.mark.parametrize("module", ["tuneless.integrations.transformers", "tuneless.integrations.timm"])
def test_a_torchvision_that_cannot_load_is_named_in_one_line(tmp_path, module):
    """issue 27: a torchvision built for another torch (pip install 'tuneless[timm]' on a CPU torch) broke
    `from transformers import Trainer` and `import timm` with messages that do not name it. The Trainer integration
    now fails with one line naming torchvision and the documented install; the timm one still works (it needs only
    timm's scheduler module) and warns once that no timm model can be built."""
    if importlib.util.find_spec(module.rsplit(".", 1)[1]) is None:  # installed by `make test`: never skips there
        pytest.skip(f"{module.rsplit('.', 1)[1]} is not installed")
    code = f"import {module}; print('imported')"
    result = subprocess.run(
        [sys.executable, "-W", "always", "-c", code], capture_output=True, text=True, env=broken_torchvision(tmp_path)
    )
    lines = [line for line in result.stderr.splitlines() if "torchvision 0.28.0 cannot load" in line]
    assert len(lines) == 1, result.stderr[-2000:]
    assert "operator torchvision::nms does not exist" in lines[0] and "docs/integrations.md" in lines[0]
    if module.endswith("transformers"):
        assert (
            result.returncode == 1
            and "ImportError: tuneless.integrations.transformers: transformers' Trainer" in lines[0]
        )
    else:
        assert result.returncode == 0 and result.stdout == "imported\n" and "no timm model can be built" in lines[0]
