"""A wheel built from the repository, installed far from the checkout, reproduces the published 25M errors.

Builds with ``pip wheel --no-deps --no-build-isolation`` (offline: setuptools and wheel come with the dev extra)
from a copy of the source tree, installs it with ``--no-deps`` into a target folder, and runs the installed
``tuneless`` command and the public-curves API from an empty folder, with that folder alone on ``PYTHONPATH``
(numpy and scipy come from this interpreter's site-packages).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PUBLISHED_ERRORS = """
import numpy as np, tuneless
from tuneless.laws import MultiPowerLaw
from tuneless.laws.public import DEFAULT_DIR, PUBLISHED_PARAMS, TEST_CURVES, load_public
law = MultiPowerLaw(params=PUBLISHED_PARAMS["25M"])
per_curve = [law.evaluate(load_public(name, "25M")) for name in TEST_CURVES]
print(tuneless.__file__)
print(DEFAULT_DIR)
print(f"{100 * np.mean([m['PredE'] for m in per_curve]):.3f} {100 * np.mean([m['WorstE'] for m in per_curve]):.3f}")
"""


def run(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_wheel_installed_far_from_the_checkout_reproduces_the_published_errors(tmp_path: Path):
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PIP_NO_INDEX"] = "1"  # nothing from the network: everything the build needs is here
    wheels = tmp_path / "wheels"
    run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(wheels), "."],
        cwd=source,
        env=env,
    )
    (wheel,) = wheels.glob("tuneless-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for data in ("LICENSE-MultiPowerLaw", "README.md", "25M/cosine_24000.csv", "100M/wsdcon_18.csv"):
        assert f"tuneless/laws/data/loss-curves/{data}" in names

    site = tmp_path / "installed"
    run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
        cwd=tmp_path,
        env=env,
    )
    shutil.rmtree(source)  # nothing of the checkout is left to read
    empty = tmp_path / "empty"
    empty.mkdir()
    env["PYTHONPATH"] = str(site)

    module, data_dir, errors = run([sys.executable, "-c", PUBLISHED_ERRORS], cwd=empty, env=env).splitlines()
    assert Path(module).is_relative_to(site) and Path(data_dir).is_relative_to(site)
    assert errors == "0.110 0.409"  # Luo et al. 2025: 25M PredE 0.110%, WorstE 0.409%

    d = Path(data_dir) / "25M"
    out = run(
        [str(site / "bin" / "tuneless"), "predict", "--law", "annealing", "--steps", "24000", "--peak-lr", "3e-4"]
        + ["--fit", f"{d}/constant_24000.csv:warmup(constant,steps=2160)@24000"]
        + [f"{d}/cosine_24000.csv:warmup(cosine(floor=0.1),steps=2160)@24000"]
        + ["--schedule", "warmup(cosine(floor=0.1),steps=2160)"],
        cwd=empty,
        env=env,
    )
    assert "annealing law fitted on 2 run(s)" in out and "predicted final loss at step 23999" in out
    final = float(out.splitlines()[-1].split()[0])  # "  3.30424  warmup(cosine(floor=0.1),steps=2160)"
    logged = [float(line.split(",")[-1]) for line in (d / "cosine_24000.csv").read_text().splitlines()[1:]]
    assert abs(final - logged[-1]) < 0.02 * logged[-1]  # the fitted law predicts the cosine run it was fitted on
