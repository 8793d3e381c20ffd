"""The benchmark report of a run: reads the store, scores it once, and writes each output.

Reads only the store (its schema: ``store.SCHEMA``); every number comes from :mod:`tuneless.bench.scoring`.
``write_report(store_path, run_id, out_dir)`` writes into ``out_dir``:

- ``results.json`` (:mod:`.results_json`);
- ``report.html`` (:mod:`.html_page`);
- ``profile.png``: performance profiles (time and steps); ``final_metric.png``: final metric per workload;
  ``lr_sensitivity.png``: the final metric against the peak lr; ``curves-<workload>.png``: evaluated metric and
  training loss against the step; ``schedules.png``: the learning-rate multipliers the methods used;
  ``claims.png``: the claims' paired differences (:mod:`.figures`).
  ``self_tuning.png``: the one-run methods against grid-tuned cosine and linear (:mod:`.self_tuning_figure`).

The terminal table is :func:`.terminal.summary_table`, the markdown tables :func:`.tables.markdown_tables`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ...output_files import write_text_atomic
from ..record.rows import Measurement, RunRow, Trial
from ..score.scoring import per_seed_final_metrics, score_trials
from . import figures
from .formatting import slug
from .html_page import html_page
from .results_json import results_dict
from .schedule_figure import plot_schedules
from .self_tuning_figure import plot_self_tuning, self_tuning_counts
from .tables import claim_panels, draw_claims
from .terminal import terminal_table

__all__ = ["load_run", "summary_table", "write_report"]


# --- reading --------------------------------------------------------------------------------------------------
def load_run(store_path: str | Path, run_id: str) -> tuple[RunRow, list[Trial]]:
    """The run's row and its trial rows, read from the SQLite store."""
    from ..record.store import Store

    if not Path(store_path).is_file():
        raise ValueError(f"store {str(store_path)!r}: no such file")
    with Store(store_path) as store:
        return store.run(run_id), store.trials(run_id)


def summary_table(store_path: str | Path, run_id: str) -> Any:
    """The terminal summary of a run (``terminal.terminal_table``): a ``rich.table.Table``."""
    run, trials = load_run(store_path, run_id)
    return terminal_table(run, score_trials(trials))


def _measurements(store_path: str | Path, trial_ids: Sequence[str]) -> dict[str, list[Measurement]]:
    from ..record.store import Store

    with Store(store_path) as store:
        return {trial_id: store.measurements(trial_id) for trial_id in trial_ids}


def write_report(store_path: str | Path, run_id: str, out_dir: str | Path) -> Path:
    """Write ``results.json``, the PNG figures and ``report.html`` (returned) into ``out_dir``."""
    store_path = Path(store_path)
    out_dir = Path(out_dir)
    run, trials = load_run(store_path, run_id)
    scored = score_trials(trials)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out_dir / "results.json", json.dumps(results_dict(run, scored), indent=2) + "\n")

    colors = figures.method_colors(scored.methods)
    figures.plot_profiles(scored, colors, out_dir / "profile.png")
    figures.plot_final_metrics(scored, colors, out_dir / "final_metric.png")
    first_seed = {(w, m): next(iter(r.chosen.values())) for w, row in scored.results.items() for m, r in row.items()}
    measurements = _measurements(store_path, [t.trial_id for t in first_seed.values()])
    curve_files = {}
    for workload in scored.workloads:
        curves = {m: (t, measurements[t.trial_id]) for (w, m), t in first_seed.items() if w == workload}
        name = f"curves-{slug(workload)}.png"
        figures.plot_curves(workload, scored, curves, colors, out_dir / name)
        curve_files[workload] = name
    schedules, notes = plot_schedules(scored, colors, store_path, out_dir / "schedules.png")
    (out_dir / "lr_sensitivity.png").unlink(missing_ok=True)  # nor one of an earlier run's lrs
    method_info = run.config.method_info
    lr_figure = figures.plot_lr_sensitivity(scored, trials, colors, out_dir / "lr_sensitivity.png", method_info)
    (out_dir / "claims.png").unlink(missing_ok=True)  # a figure of an earlier report must not outlive its claims
    finals = per_seed_final_metrics(trials)
    claims = draw_claims(claim_panels(scored, finals), out_dir / "claims.png")
    (out_dir / "self_tuning.png").unlink(missing_ok=True)
    self_tuning = plot_self_tuning(scored, self_tuning_counts(scored, finals), out_dir / "self_tuning.png")
    page = html_page(
        run,
        scored,
        trials,
        curve_files,
        None if schedules is None else schedules.name,
        notes,
        None if claims is None else claims.name,
        None if lr_figure is None else lr_figure.name,
        method_info=method_info,
        self_tuning_file=None if self_tuning is None else self_tuning.name,
    )
    path = out_dir / "report.html"
    write_text_atomic(path, page)
    return path
