"""The claims tables of every online-refinement method of a run, its future-norm variants included.

``tuneless bench tables`` compares the default ``refined-online`` only; a run of the variants
(``refined-online-constant``, ``-trend``, ``-stretch``, named with ``--methods``) gets here, for each variant, the
same paired tables against linear decay, cosine, and offline ``refined`` counted with its prior run.

    .venv/bin/python benchmarks/online_claims.py --store out/quick.sqlite [--run-id ID]
"""

from __future__ import annotations

import argparse

from tuneless.bench.record.store import Store
from tuneless.bench.report.tables import markdown_tables
from tuneless.bench.score.claims import Claim


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--run-id", default=None)
    args = parser.parse_args()
    with Store(args.store, read_only=True) as store:
        run_id = args.run_id or store.latest_run_id()
        methods = sorted({trial.method for trial in store.trials(run_id)})
    claims = []
    for method in (m for m in methods if m.startswith("refined-online")):
        claims += [
            Claim(method, "linear", f"{method} vs linear decay"),
            Claim(method, "cosine", f"{method} vs cosine"),
            Claim(method, "refined", f"{method} vs offline refinement counted with its prior run", count_prior=True),
        ]
    print(markdown_tables(args.store, run_id, claims))


if __name__ == "__main__":
    main()
