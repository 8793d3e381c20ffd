"""The integrations stay optional: lazy imports, an ImportError naming the extra, and a core install of numpy and
scipy only."""

from __future__ import annotations

import importlib
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
