"""Accuracy of the loss-curve laws on the public curves of Luo et al. 2025 with the authors' split.

Fit each law on cosine_24000, constant_24000 and wsdcon_9 together; predict the other six; print R2, MAE, RMSE,
PredE and WorstE averaged over the test curves, and the fit time, per size and law. The row ``multipower
(published)`` uses the authors' published parameters (no fit); ``multipower`` is our default two-stage fit (``B``
from the saturated limit, then the rest), ``multipower (one-stage)`` fits all seven parameters at once and
``saturated`` is the four-parameter limit itself.

    .venv/bin/python benchmarks/law_accuracy.py [--data DIR] [--json] [--starts N]

``--data`` defaults to the curves bundled with the package.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from tuneless.laws import AnnealingLaw, MultiPowerLaw
from tuneless.laws.models import SaturatedDropLaw
from tuneless.laws.public import DEFAULT_DIR, PUBLISHED_PARAMS, TEST_CURVES, TRAIN_CURVES, load_public

SIZES = ("25M", "100M")
# row name -> an unfitted law
FITS = {
    "multipower": lambda: MultiPowerLaw(),
    "multipower (one-stage)": lambda: MultiPowerLaw(pin_b=False),
    "annealing": lambda: AnnealingLaw(),
    "saturated": lambda: SaturatedDropLaw(),
}


def evaluate(law, size: str, data: str) -> dict[str, float]:
    per_curve = [law.evaluate(load_public(name, size, data)) for name in TEST_CURVES]
    return {key: float(np.mean([m[key] for m in per_curve])) for key in per_curve[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data",
        default=str(DEFAULT_DIR),
        help="folder with 25M/ and 100M/ curve CSVs (default: the bundled public curves)",
    )
    parser.add_argument("--json", action="store_true", help="print {size: {law: {metric: value}}} as JSON")
    parser.add_argument("--starts", type=int, default=3, help="L-BFGS-B starts per fit (default 3, the library's)")
    args = parser.parse_args()
    results: dict[str, dict[str, dict[str, float]]] = {}
    for size in SIZES:
        results[size] = {}
        published = MultiPowerLaw(params=PUBLISHED_PARAMS[size])
        results[size]["multipower (published)"] = evaluate(published, size, args.data) | {"fit_seconds": 0.0}
        train = [load_public(name, size, args.data) for name in TRAIN_CURVES]
        for row, make in FITS.items():
            start = time.perf_counter()
            law = make().fit(train, n_starts=args.starts)
            seconds = time.perf_counter() - start
            results[size][row] = evaluate(law, size, args.data) | {"fit_seconds": seconds}
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'size':5} {'law':24} {'R2':>7} {'MAE':>8} {'RMSE':>8} {'PredE%':>7} {'WorstE%':>8} {'fit s':>6}")
    for size, by_law in results.items():
        for name, m in by_law.items():
            print(
                f"{size:5} {name:24} {m['R2']:7.4f} {m['MAE']:8.5f} {m['RMSE']:8.5f} {100 * m['PredE']:7.3f} "
                f"{100 * m['WorstE']:8.3f} {m['fit_seconds']:6.1f}"
            )


if __name__ == "__main__":
    main()
