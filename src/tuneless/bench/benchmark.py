"""``run_benchmark``: a run's trials (``run.driver.run_trials``), then its report (``report.write_report``).

The one place that joins the rooms that train (``run``) and the ones that read what was trained (``report``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from .catalog.workload import Workload
from .run.config import BenchConfig
from .run.driver import run_trials
from .run.runner import Executor

__all__ = ["run_benchmark", "write_outputs"]


def run_benchmark(
    store_path: str | Path,
    config: BenchConfig | None = None,
    *,
    resume: bool = False,
    run_id: str | None = None,
    add_methods: Sequence[str] = (),
    workers: int | None = None,
    out_dir: str | Path | None = None,
    progress: bool = True,
    executor: Executor | None = None,
    device: str = "cpu",
    trials_per_device: int = 1,
    workloads: Mapping[str, Workload] | None = None,
    say: Callable[[str], None] = lambda text: print(text, file=sys.stderr),
) -> str:
    """Run (or resume) a benchmark (``run.driver.run_trials``); returns its run id. Writes the report to
    ``out_dir`` when given."""
    run_id = run_trials(
        store_path,
        config,
        resume=resume,
        run_id=run_id,
        add_methods=add_methods,
        workers=workers,
        progress=progress,
        executor=executor,
        device=device,
        trials_per_device=trials_per_device,
        workloads=workloads,
        say=say,
    )
    if out_dir is not None:
        write_outputs(store_path, run_id, out_dir, say)
    return run_id


def write_outputs(store_path: str | Path, run_id: str, out_dir: str | Path, say: Callable[[str], None]) -> None:
    """The report (``report.write_report``) and the terminal summary table."""
    from rich.console import Console

    from .report import summary_table, write_report

    write_report(store_path, run_id, out_dir)
    Console().print(summary_table(store_path, run_id))
    say(f"report: {Path(out_dir) / 'report.html'}")
