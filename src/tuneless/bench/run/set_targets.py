"""``tuneless bench set-targets``: the targets procedure (``catalog.targets``) on a run trained for it, or on the
cosine grid trials of an existing benchmark run of the same suite (``--from-store``), checked to train each
workload as the procedure would."""

from __future__ import annotations

import json
import platform
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ...output_files import check_output_file
from ..catalog.suites import get_suite
from ..catalog.targets import TARGET_METHOD, load_targets, targets_path
from ..catalog.workload import Workload
from ..catalog.workloads import resolve_workload
from ..record.rows import RunRow, Trial
from ..record.store import Store
from ..score.targets import compute_targets
from .config import BenchConfig

__all__ = ["procedure_config", "target_notes", "targets_file", "targets_from_store", "targets_of_run"]


def procedure_config(suite: str, workloads: Sequence[str] | None, seeds: int | None) -> BenchConfig:
    """The documented procedure's run: the suite's cosine grid only, without targets."""
    return BenchConfig.from_options(suite, workloads, [TARGET_METHOD], seeds, use_targets=False, lr_resolution=None)


def targets_file(
    suite: str, workloads: Sequence[str] | None, output: str | None, others: Sequence[tuple[str, str | None]]
) -> tuple[Path, dict[str, Any]]:
    """The targets file to write (``output``, default the package's ``targets/<suite>.json``) and the targets it
    holds already, into which the new ones are merged (checked before anything trains). ``others``: the options
    naming other files, which the output must not be."""
    outside = [ref for ref in workloads or [] if ref not in get_suite(suite).workloads]
    if outside and output is None:
        raise ValueError(
            f"--workload {' '.join(outside)}: not in the {suite} suite; give --output FILE.json (the package's "
            f"targets/{suite}.json holds the suite's own workloads)"
        )
    path = check_output_file(targets_path(suite) if output is None else output, "--output", list(others))
    # merged into the file it replaces: the package's, or an --output of the same suite written before
    previous = load_targets(suite) if path.resolve() == targets_path(suite).resolve() else {}
    if path.is_file() and not previous:
        previous = _targets_of_suite(path, suite)
    return path, previous


def targets_of_run(store_path: str | Path, run_id: str) -> dict[str, dict[str, Any]]:
    """The procedure applied to a run that set-targets trained (its data hashes are the run's)."""
    with Store(store_path) as store:
        return compute_targets(store, run_id, store.run(run_id).config.data_hashes)


def targets_from_store(
    path: str, run_id: str | None, suite: str, workloads: Sequence[str] | None, seeds: int | None
) -> tuple[dict[str, dict[str, Any]], BenchConfig, dict[str, tuple[float, ...]]]:
    """The procedure applied to the cosine grid trials of a run in the store at ``path`` (``run_id``, default the
    store's latest; ``seeds``: its first ones, default all): the targets, the procedure's config and each
    workload's grid."""
    with Store(path, read_only=True) as store:
        chosen = run_id if run_id is not None else _latest_run(store, path)
        seeds = seeds or store.run(chosen).config.seeds  # default: all of the run's
        config = procedure_config(suite, workloads, seeds)
        computed, grids = _targets_from_run(store, chosen, config, chosen=run_id is not None)
    used = "seed 0" if config.seeds == 1 else f"seeds 0-{config.seeds - 1}"
    for entry in computed.values():
        entry["procedure"] += (
            f" (applied to the grid trials of {used} of that benchmark run, in {Path(path).name}: "
            "set-targets --from-store)"
        )
    return computed, config, grids


def target_notes(
    computed: Mapping[str, Mapping[str, Any]], seeds: int, grids: Mapping[str, Sequence[float]]
) -> list[str]:
    """What set-targets prints of each target: its value, then notes on failed seeds and best runs at a grid edge."""
    lines = []
    for name, entry in sorted(computed.items()):
        lines.append(f"{name}: {entry['metric']} target {entry['target']:.6g} (data {entry['data_hash']})")
        failed = sorted(set(range(seeds)) - {s["seed"] for s in entry["per_seed"]})
        if failed:
            lines.append(
                f"  note: every {TARGET_METHOD} grid trial of seed{'s' * (len(failed) > 1)} "
                f"{', '.join(map(str, failed))} failed: the target is the median of the other "
                f"{len(entry['per_seed'])}"
            )
        grid = tuple(grids.get(name, ()))
        edges = (
            [s["seed"] for s in entry["per_seed"] if s["peak_lr"] in (min(grid), max(grid))] if len(grid) > 2 else []
        )
        if edges:
            lines.append(
                f"  note: the best {TARGET_METHOD} run of {len(edges)} of {len(entry['per_seed'])} seeds is at an "
                "edge of the grid: a better-tuned run reaches this target before 3/4 of the budget"
            )
    return lines


def _latest_run(store: Store, path: str) -> str:
    try:
        return store.latest_run_id()
    except ValueError:
        raise ValueError(f"--from-store {path}: the store has no run") from None


def _targets_of_suite(path: Path, suite: str) -> dict[str, Any]:
    """The workloads of an existing targets file of ``suite`` (a file of another suite is an error)."""
    try:
        document = json.loads(path.read_text())
        stored_suite, workloads = document["suite"], document["workloads"]
        if not isinstance(workloads, dict) or not all(
            isinstance(entry, dict) and "target" in entry for entry in workloads.values()
        ):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise ValueError(f"--output {path}: exists and is not a targets file; give a new file") from None
    if stored_suite != suite:
        raise ValueError(f"--output {path}: holds targets of the {stored_suite} suite, not {suite}")
    return workloads


def _targets_from_run(
    store: Store, run_id: str, config: BenchConfig, chosen: bool = True
) -> tuple[dict[str, dict[str, Any]], dict[str, tuple[float, ...]]]:
    """The procedure applied to an existing run's cosine grid trials, and each workload's grid. The run must be of
    the same suite and train each workload as the procedure would: the suite's overrides (but the target) where
    the run has them, and for every workload grid trials at its budget, for every grid lr and seed, finished
    (done, or failed: a diverged run is part of the grid, as in a run of set-targets itself). ``chosen``: the run
    was named (--run-id), not the store's latest. The targets name the data the run recorded; a run stored before
    runs recorded it, the data here."""
    run = store.run(run_id)
    which = f"run {run_id}" if chosen else f"run {run_id} (the store's latest; choose another with --run-id)"
    if run.suite != config.suite:
        raise ValueError(f"--from-store: {which} is of the {run.suite} suite, not {config.suite}")
    if config.seeds > run.config.seeds:
        raise ValueError(f"--from-store: {which} has {run.config.seeds} seeds, not {config.seeds} (--seeds)")
    cosine = [t for t in store.trials(run_id) if t.method == TARGET_METHOD]
    in_run = sorted({t.workload for t in cosine})
    hashes = {}
    grids: dict[str, tuple[float, ...]] = {}
    for ref in config.workloads:
        workload = resolve_workload(ref, config.overrides[ref])
        if workload.name not in in_run:
            has = f"it has {', '.join(in_run)}" if in_run else "it has none"
            raise ValueError(
                f"--from-store: {which} has no {TARGET_METHOD} trial of {workload.name}; {has} (choose with --workload)"
            )
        hashes[workload.name] = _data_hash(run, workload, which)
        _check_overrides(run, ref, config, workload, which)
        _check_grid_trials(cosine, workload, config, which)
        grids[workload.name] = tuple(workload.peak_lrs)
    computed = compute_targets(
        store,
        run_id,
        hashes,
        keep=lambda t: t.workload in grids and t.peak_lr in grids[t.workload] and t.seed < config.seeds,
    )
    return computed, grids


def _data_hash(run: RunRow, workload: Workload, which: str) -> str:
    """The hash of the data the run recorded for ``workload``; a run stored before runs recorded it: the data's
    here (this fallback stays: the hash of the data the run trained on is known only where it ran)."""
    recorded = run.config.data_hashes or {}
    if workload.name in recorded:
        return recorded[workload.name]
    reason = workload.unavailable_reason()
    if reason is not None:
        raise ValueError(f"--from-store: {workload.name}: {reason} (its data hash is part of the target)")
    ran_on = (run.config.environment or {}).get("python")
    if ran_on is not None and ran_on != platform.python_version():
        print(
            f"note: {which} did not record its data; {workload.name}'s target is stamped with the hash of the "
            f"data here (Python {platform.python_version()}; the run had {ran_on}, and the stdlib LM's "
            "corpus changes with the Python version)"
        )
    return workload.data_hash()


def _check_overrides(run: RunRow, ref: str, config: BenchConfig, workload: Workload, which: str) -> None:
    """The run trains ``ref`` with the suite's overrides (but the target), where it recorded them."""
    stored = run.config.overrides.get(ref)
    if stored is None:
        return
    stored = {k: v for k, v in stored.items() if k != "target"}
    wanted = json.loads(json.dumps(config.overrides[ref]))  # tuples as the stored JSON has them
    if stored != wanted:
        raise ValueError(
            f"--from-store: {which} trains {workload.name} with {stored}, the {config.suite} suite with {wanted}"
        )


def _check_grid_trials(cosine: Sequence[Trial], workload: Workload, config: BenchConfig, which: str) -> None:
    """The run has a finished cosine trial of ``workload`` at its budget for every grid lr and seed."""
    grid = set(workload.peak_lrs)
    own = [t for t in cosine if t.status != "running" and t.workload == workload.name and t.peak_lr in grid]
    budgets = sorted({t.budget_steps for t in own})
    if budgets and budgets != [workload.budget_steps]:
        raise ValueError(
            f"--from-store: {which} trains {workload.name} for {budgets} steps, the {config.suite} suite "
            f"for {workload.budget_steps}"
        )
    finished = {(t.seed, t.peak_lr) for t in own}
    missing = sorted((s, lr) for s in range(config.seeds) for lr in grid if (s, lr) not in finished)
    running = {(t.seed, t.peak_lr) for t in cosine if t.status == "running"} & set(missing)
    if running:
        raise ValueError(
            f"--from-store: {which} is still running {TARGET_METHOD} trials of {workload.name} at (seed, peak lr) "
            f"{_first_few(sorted(running))}: let it finish (or continue it with tuneless bench --resume)"
        )
    if missing:
        raise ValueError(
            f"--from-store: {which} lacks {TARGET_METHOD} trials of {workload.name} at (seed, peak lr) "
            f"{_first_few(missing)}"
        )


def _first_few(items: list[Any]) -> str:
    return f"{items[:3]}{' ...' if len(items) > 3 else ''}"
