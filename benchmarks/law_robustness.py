"""How much each law's errors depend on the fit's search: ``n_starts`` in {1, 3, 6, 16}, on the authors' split and
on the 15 splits of ``law_splits.py`` (constant_24000 plus every pair of the six 24000-step-horizon curves with
drops; the other six curves predicted).

Per size, law and ``n_starts``: PredE / WorstE (%) on the authors' split, the mean over the 15 splits, and the
largest change of any split's PredE against ``n_starts = 3`` (the library default). A law whose fit has one optimum
shows no change. Results are cached per fit in ``--cache`` (JSON), so an interrupted run resumes.

    .venv/bin/python benchmarks/law_robustness.py [--data DIR] [--cache FILE] [--sizes 25M 100M]
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np
from law_accuracy import FITS
from law_splits import BASE, LONG, WITH_DROPS

from tuneless.laws.public import DEFAULT_DIR, TEST_CURVES, TRAIN_CURVES, load_public

STARTS = (1, 3, 6, 16)


def splits() -> list[tuple[str, tuple[str, ...]]]:
    """(label, training curves): the authors' split, then the 15 others."""
    out = [("authors", TRAIN_CURVES)]
    out += [(" + ".join(pair), (BASE, *pair)) for pair in itertools.combinations(WITH_DROPS, 2)]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(DEFAULT_DIR), help="folder with 25M/ and 100M/ curve CSVs")
    parser.add_argument("--cache", default="law_robustness.json", help="per-fit results, read and extended")
    parser.add_argument("--sizes", nargs="+", default=["25M", "100M"])
    args = parser.parse_args()
    cache_path = Path(args.cache)
    cache = json.loads(cache_path.read_text()) if cache_path.is_file() else {}
    for size in args.sizes:
        names = set(TRAIN_CURVES) | set(TEST_CURVES) | {BASE, *WITH_DROPS, *LONG}
        curves = {name: load_public(name, size, args.data) for name in names}
        for law_name, make in FITS.items():
            for starts in STARTS:
                for label, train in splits():
                    key = f"{size}|{law_name}|{starts}|{label}"
                    if key in cache:
                        continue
                    test = TEST_CURVES if label == "authors" else [n for n in curves if n not in train]
                    law = make().fit([curves[n] for n in train], n_starts=starts)
                    per_curve = [law.evaluate(curves[n]) for n in test]
                    cache[key] = [
                        100 * float(np.mean([m["PredE"] for m in per_curve])),
                        100 * float(np.mean([m["WorstE"] for m in per_curve])),
                    ]
                    cache_path.write_text(json.dumps(cache, indent=1) + "\n")
    labels = [label for label, _ in splits()]
    print(f"{'size':5} {'law':24} {'starts':>6} {'authors split':>14} {'mean of 15':>14} {'max |dPredE| vs 3':>18}")
    for size in args.sizes:
        for law_name in FITS:
            for starts in STARTS:
                authors = cache[f"{size}|{law_name}|{starts}|authors"]
                rows = np.array([cache[f"{size}|{law_name}|{starts}|{label}"] for label in labels[1:]])
                default = np.array([cache[f"{size}|{law_name}|3|{label}"] for label in labels])
                here = np.array([cache[f"{size}|{law_name}|{starts}|{label}"] for label in labels])
                change = np.abs(here[:, 0] - default[:, 0]).max()
                print(
                    f"{size:5} {law_name:24} {starts:6d} {authors[0]:6.3f}/{authors[1]:.3f} "
                    f"{rows[:, 0].mean():6.3f}/{rows[:, 1].mean():.3f} {change:18.3f}"
                )


if __name__ == "__main__":
    main()
