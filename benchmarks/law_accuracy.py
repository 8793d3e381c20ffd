"""Accuracy of the loss-curve laws on the public curves of Luo et al. 2025, two protocols.

``--protocol split`` (default): the authors' split. Fit each law on cosine_24000, constant_24000 and wsdcon_9
together; predict the other six; print R2, MAE, RMSE, PredE and WorstE averaged over the test curves, and the fit
time, per size and law. The row ``multipower (published)`` uses the authors' published parameters (no fit);
``multipower`` is our default two-stage fit (``B`` from the saturated limit, then the rest), ``multipower
(one-stage)`` fits all seven parameters at once, ``saturated`` is the four-parameter limit itself and ``bound`` the
last-iterate bound law (``L0 + c * Omega_t(gamma)``, constant gradient norms).

``--protocol half`` (Bu, Xu, Mao, arXiv 2602.07145): per curve, fit each law on the logged points of the first half
of the run (steps < T/2) and predict the second half; metrics averaged over the nine curves.

    .venv/bin/python benchmarks/law_accuracy.py [--protocol split|half] [--data DIR] [--json] [--starts N] [--laws ...]

``--data`` defaults to the curves bundled with the package.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from tuneless.laws import AnnealingLaw, BoundLaw, Curve, MultiPowerLaw
from tuneless.laws.models import SaturatedDropLaw
from tuneless.laws.public import DEFAULT_DIR, PUBLISHED_PARAMS, TEST_CURVES, TRAIN_CURVES, load_public

SIZES = ("25M", "100M")
# row name -> an unfitted law
FITS = {
    "multipower": lambda: MultiPowerLaw(),
    "multipower (one-stage)": lambda: MultiPowerLaw(pin_b=False),
    "annealing": lambda: AnnealingLaw(),
    "saturated": lambda: SaturatedDropLaw(),
    "bound": lambda: BoundLaw(),
}
ALL_CURVES = TRAIN_CURVES + TEST_CURVES


def mean_metrics(per_curve: list[dict[str, float]]) -> dict[str, float]:
    return {key: float(np.mean([m[key] for m in per_curve])) for key in per_curve[0]}


def evaluate(law, size: str, data: str) -> dict[str, float]:
    return mean_metrics([law.evaluate(load_public(name, size, data)) for name in TEST_CURVES])


def split_protocol(size: str, data: str, starts: int) -> dict[str, dict[str, float]]:
    out = {}
    published = MultiPowerLaw(params=PUBLISHED_PARAMS[size])
    out["multipower (published)"] = evaluate(published, size, data) | {"fit_seconds": 0.0}
    train = [load_public(name, size, data) for name in TRAIN_CURVES]
    for row, make in FITS.items():
        start = time.perf_counter()
        law = make().fit(train, n_starts=starts)
        out[row] = evaluate(law, size, data) | {"fit_seconds": time.perf_counter() - start}
    return out


def halves(curve: Curve) -> tuple[Curve, Curve]:
    """The logged points of the first half of the run (steps < T/2) and of the second."""
    first = curve.steps < curve.lrs.size // 2
    part = lambda keep: Curve(curve.lrs, curve.steps[keep], curve.losses[keep], name=curve.name)  # noqa: E731
    return part(first), part(~first)


def half_protocol(size: str, data: str, starts: int) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    curves = [load_public(name, size, data) for name in ALL_CURVES]
    for row, make in FITS.items():
        per_curve, seconds = [], 0.0
        for curve in curves:
            first, second = halves(curve)
            start = time.perf_counter()
            law = make().fit(first, n_starts=starts)
            seconds += time.perf_counter() - start
            per_curve.append(law.evaluate(second))
        out[row] = mean_metrics(per_curve) | {"fit_seconds": seconds / len(curves)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--protocol", choices=("split", "half"), default="split")
    parser.add_argument(
        "--data",
        default=str(DEFAULT_DIR),
        help="folder with 25M/ and 100M/ curve CSVs (default: the bundled public curves)",
    )
    parser.add_argument("--json", action="store_true", help="print {size: {law: {metric: value}}} as JSON")
    parser.add_argument("--starts", type=int, default=3, help="L-BFGS-B starts per fit (default 3, the library's)")
    parser.add_argument("--laws", nargs="+", choices=list(FITS), default=list(FITS), help="fitted rows to run")
    args = parser.parse_args()
    for name in set(FITS) - set(args.laws):
        del FITS[name]
    protocol = split_protocol if args.protocol == "split" else half_protocol
    results = {size: protocol(size, args.data, args.starts) for size in SIZES}
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
