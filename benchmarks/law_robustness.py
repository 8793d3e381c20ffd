"""How much each law's errors depend on the fit's search: ``n_starts`` in {1, 3, 6, 16}, on the authors' split and
on the 15 splits of ``law_splits.py`` (constant_24000 plus every pair of the six 24000-step-horizon curves with
drops; the other six curves predicted).

Per size, law and ``n_starts``: PredE / WorstE (%) on the authors' split, the mean over the 15 splits, and the
largest change of any split's PredE (authors' split included) against ``n_starts = 3`` (the library default). A
law whose fit has one optimum shows no change. Fits run in this order: the authors' split at every ``n_starts``,
then the 15 splits at 3, 1, 16 and 6 starts; rows whose fits are not all in the cache say so. Results are cached
per fit in ``--cache`` (JSON), so an interrupted run resumes.

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
    parser.add_argument("--laws", nargs="+", default=list(FITS), choices=list(FITS), help="rows of law_accuracy.py")
    args = parser.parse_args()
    cache_path = Path(args.cache)
    cache = json.loads(cache_path.read_text()) if cache_path.is_file() else {}
    names = set(TRAIN_CURVES) | set(TEST_CURVES) | {BASE, *WITH_DROPS, *LONG}
    by_size = {size: {name: load_public(name, size, args.data) for name in names} for size in args.sizes}
    # The authors' split at every n_starts first, then the 15 splits at the default, then at the other n_starts.
    order = [(starts, split) for starts in STARTS for split in splits()[:1]]
    order += [(starts, split) for starts in (3, 1, 16, 6) for split in splits()[1:]]
    for starts, (label, train) in order:
        for size, curves in by_size.items():
            for law_name in args.laws:
                make = FITS[law_name]
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
        for law_name in args.laws:
            for starts in STARTS:
                keys = [f"{size}|{law_name}|{starts}|{label}" for label in labels]
                if keys[0] not in cache:
                    continue
                authors = cache[keys[0]]
                cells = f"{authors[0]:6.3f}/{authors[1]:.3f}"
                if all(k in cache for k in keys) and all(f"{size}|{law_name}|3|{label}" in cache for label in labels):
                    rows = np.array([cache[k] for k in keys[1:]])
                    here = np.array([cache[k] for k in keys])
                    default = np.array([cache[f"{size}|{law_name}|3|{label}"] for label in labels])
                    change = np.abs(here[:, 0] - default[:, 0]).max()
                    cells += f" {rows[:, 0].mean():6.3f}/{rows[:, 1].mean():.3f} {change:18.3f}"
                else:
                    cells += f" {'(not run)':>14} {'-':>18}"
                print(f"{size:5} {law_name:24} {starts:6d} {cells}")


if __name__ == "__main__":
    main()
