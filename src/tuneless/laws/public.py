"""The public loss curves of Luo et al. 2025 (MultiPowerLaw repository, MIT) and their learning-rate schedules.

The curves ship with the package (``tuneless/laws/data/loss-curves``: 25M/ and 100M/ CSVs, the authors' MIT
license and a README; ``DEFAULT_DIR`` is that folder). Schedules as defined in that README: linear warmup
``eta_t = 3e-4 t/2159`` over steps ``0..2159`` (0 at step 0, the peak at 2159), then per file (``T`` total
steps, ``W = 2160``)::

    constant_T          3e-4
    cosine_T            3e-5 + 0.5 (3e-4 - 3e-5) (1 + cos(pi (t - W) / (T - W)))
    wsdcon_N            3e-4 for t < 8000, then N * 1e-5            (T = 16000)
    wsd_20000_24000     3e-4 for t < 20000, then 3e-4^((T-t)/4000) * 3e-5^((t-20000)/4000)
    wsdld_20000_24000   3e-4 for t < 20000, then linear from 3e-4 to 3e-5 at t = T

Evaluation protocol (Luo et al. 2025, sec. 4): fit on cosine_24000, constant_24000 and wsdcon_9 together,
predict the other six; 24000-step curves are truncated to steps < 24000.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .curves import Curve, read_loss_csv

PEAK_LR = 3e-4
FINAL_LR = 3e-5
WARMUP_STEPS = 2160
TRAIN_CURVES = ("cosine_24000", "constant_24000", "wsdcon_9")
TEST_CURVES = ("constant_72000", "cosine_72000", "wsd_20000_24000", "wsdld_20000_24000", "wsdcon_3", "wsdcon_18")
#: The bundled curves (package data): ``DEFAULT_DIR / "25M" / "cosine_24000.csv"`` and so on.
DEFAULT_DIR = Path(__file__).resolve().parent / "data" / "loss-curves"
# The authors' fitted multi-power-law parameters (MultiPowerLaw repository, src/config.py), per model size.
PUBLISHED_PARAMS = {
    size: dict(zip(("L0", "A", "alpha", "B", "C", "beta", "gamma"), values, strict=True))
    for size, values in {
        "25M": (3.04045406, 0.52468604, 0.50786857, 363.78751622, 2.06560812, 0.58279013, 0.64142257),
        "100M": (2.6514477, 0.60115152, 0.45295811, 437.9464276, 2.13245612, 0.59785199, 0.65523644),
    }.items()
}


def public_lrs(name: str) -> np.ndarray:
    """Per-step learning rates of one of the public runs (file stem, e.g. ``cosine_24000``)."""
    parts = name.split("_")
    kind = parts[0]
    total = {"wsdcon": 16000}.get(kind) or int(parts[-1])
    t = np.arange(total, dtype=float)
    lrs = np.full(total, PEAK_LR)
    after = t >= WARMUP_STEPS
    if kind == "cosine":
        progress = (t - WARMUP_STEPS) / (total - WARMUP_STEPS)
        lrs = np.where(after, FINAL_LR + 0.5 * (PEAK_LR - FINAL_LR) * (1 + np.cos(np.pi * progress)), lrs)
    elif kind == "wsdcon":
        lrs = np.where(t >= 8000, int(parts[1]) * 1e-5, lrs)
    elif kind in ("wsd", "wsdld"):
        start = int(parts[1])
        frac = (t - start) / (total - start)
        decay = PEAK_LR ** (1 - frac) * FINAL_LR**frac if kind == "wsd" else PEAK_LR + (FINAL_LR - PEAK_LR) * frac
        lrs = np.where(t >= start, decay, lrs)
    elif kind != "constant":
        raise ValueError(f"unknown public curve {name!r}; known kinds: constant, cosine, wsdcon, wsd, wsdld")
    lrs[:WARMUP_STEPS] = PEAK_LR * np.arange(WARMUP_STEPS) / (WARMUP_STEPS - 1)
    return lrs


def load_public(name: str, size: str, data_dir: str | Path = DEFAULT_DIR) -> Curve:
    """One public curve (``size`` '25M' or '100M'), truncated to steps < 24000 as the authors do."""
    path = Path(data_dir) / size / f"{name}.csv"
    steps, losses = read_loss_csv(path)
    keep = steps < 24000 if name.endswith("_24000") else np.ones(steps.size, bool)
    return Curve(lrs=public_lrs(name), steps=steps[keep], losses=losses[keep], name=f"{size}/{name}")
