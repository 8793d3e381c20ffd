"""``tuneless bench``: run the benchmark; ``bench export``, ``bench set-targets``, ``bench list``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from ..limits import check_seeds
from ..output_files import check_output_file, check_output_folder, write_text_atomic

DEFAULT_STORE = "out/bench.sqlite"
DEFAULT_OUT = "out"


def register(sub: argparse._SubParsersAction) -> None:
    from .methods import METHODS
    from .suites import SUITES

    bench = sub.add_parser(
        "bench",
        help="compare schedules and optimizers on real workloads (AlgoPerf-style time to target)",
        description="Run a benchmark suite: every method tuned on each workload's peak-lr grid, several seeds; "
        "time and steps to the target, final metrics, performance profiles; report in --out.",
    )
    _run_options(bench, SUITES, METHODS)
    bench.add_argument(
        "--lr-resolution",
        type=float,
        metavar="FACTOR",
        help="after the grid, tune each grid method's peak lr per workload and seed until its best lrs (by the "
        "suite's tuning measures: steps to target and/or final metric) are bracketed within this factor (default: "
        "the suite's, 2 for quick, 1.5 otherwise; a resumed run keeps its own)",
    )
    bench.add_argument(
        "--grid-only", action="store_true", help="no method-fair tuning: each grid method runs its grid only"
    )
    bench.add_argument("--out", default=DEFAULT_OUT, help=f"report folder (default: {DEFAULT_OUT})")
    bench.add_argument("--resume", action="store_true", help="continue the store's latest (or --run-id) run")
    bench.add_argument("--run-id", help="with --resume: the run to continue")
    bench.set_defaults(handler=run_command)
    actions = bench.add_subparsers(dest="bench_command", metavar="ACTION")

    export = actions.add_parser("export", help="write a table of the store to CSV")
    export.add_argument("--store", default=DEFAULT_STORE, help=f"SQLite store (default: {DEFAULT_STORE})")
    export.add_argument("-o", "--output", required=True, help="CSV file to write")
    export.add_argument("--table", default="trials", choices=["runs", "trials", "measurements"])
    export.add_argument("--run-id", help="only this run's rows (default: all runs)")
    export.set_defaults(handler=export_command)

    targets = actions.add_parser("set-targets", help="set the suite's targets by the documented procedure")
    _run_options(targets, SUITES, None)
    targets.add_argument("--output", help="targets JSON to write (default: the package's targets/<suite>.json)")
    targets.add_argument(
        "--from-store",
        metavar="STORE",
        help="no training: apply the procedure to the cosine grid trials of a run of the same suite in this store "
        "(a benchmark run has them; default: all of its seeds, --seeds N the first N; the options that say how to "
        "train, such as --store, --workers and --device, are not used)",
    )
    targets.add_argument("--run-id", help="with --from-store: the run (default: the store's latest)")
    targets.set_defaults(handler=set_targets_command)

    tables = actions.add_parser("tables", help="markdown tables of a run: scores, final metrics, the paper's claims")
    tables.add_argument("--store", default=DEFAULT_STORE, help=f"SQLite store (default: {DEFAULT_STORE})")
    tables.add_argument("--run-id", help="the run (default: the store's latest)")
    tables.add_argument("-o", "--output", help="write to this file (default: print)")
    tables.add_argument(
        "--figure", help="also draw the claims' paired differences per workload to this PNG (claims.png)"
    )
    tables.set_defaults(handler=tables_command)

    listing = actions.add_parser("list", help="workloads (with availability), methods and suites")
    listing.set_defaults(handler=list_command)


def _run_options(parser: argparse.ArgumentParser, suites: dict, methods: dict | None) -> None:
    parser.add_argument("--suite", default="quick", help=f"one of {', '.join(suites)} (default: quick)")
    parser.add_argument(
        "--workload",
        action="extend",
        nargs="+",
        metavar="NAME|MODULE:CLASS",
        help="run these workloads instead of the suite's (built-in name, module:Class or file.py:Class)",
    )
    if methods is not None:
        parser.add_argument(
            "--methods",
            nargs="+",
            metavar="METHOD",
            help=f"methods to compare, of {', '.join(methods)} (default: the suite's; `tuneless bench list`)",
        )
    parser.add_argument("--store", default=DEFAULT_STORE, help=f"SQLite store (default: {DEFAULT_STORE})")
    parser.add_argument("--workers", type=int, help="trials run in parallel (default: all cores)")
    parser.add_argument(
        "--executor",
        choices=["local", "ray"],
        default="local",
        help="local: a process per trial on this machine (default); ray: Ray tasks (pip install 'tuneless[ray]')",
    )
    parser.add_argument("--address", help="with --executor ray: the cluster address (default: a local Ray instance)")
    parser.add_argument(
        "--seeds",
        type=int,
        help="seeds per trial configuration (default: the suite's; paired verdicts on the claims need at least 5)",
    )
    parser.add_argument(
        "--device",
        default="auto",
        help="auto (CUDA when a GPU is visible, else cpu; the default), cpu, cuda (every GPU) or cuda:N",
    )
    parser.add_argument(
        "--trials-per-device",
        type=int,
        default=1,
        help="on GPUs: trials sharing one GPU at a time (default 1; small workloads run faster with several)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run_command(args: argparse.Namespace) -> int:
    from .benchmark import BenchConfig, run_benchmark

    if args.bench_command is not None:  # pragma: no cover - argparse dispatches subcommands to their handlers
        raise ValueError(f"unknown bench action {args.bench_command!r}")
    if args.grid_only and args.lr_resolution is not None:
        raise ValueError(f"--grid-only and --lr-resolution {args.lr_resolution:g} exclude each other")
    if args.run_id and not args.resume:
        raise ValueError("--run-id is only for --resume")
    # Everything is checked before the first trial: options, the report folder, the store.
    check_seeds(args.seeds, "--seeds")
    check_workers(args.workers)
    check_output_folder(args.out, "--out")
    check_store(args.store)
    if args.resume:
        check_resume_options(args)
        config = None
    else:
        resolution = None if args.grid_only else ("suite" if args.lr_resolution is None else args.lr_resolution)
        config = BenchConfig.from_options(args.suite, args.workload, args.methods, args.seeds, lr_resolution=resolution)
        check_plan(config)
    device = run_device(args)  # before the executor: a bad --device must not start a Ray instance first
    run_id = run_benchmark(
        args.store,
        config,
        resume=args.resume,
        run_id=args.run_id,
        workers=args.workers,
        out_dir=args.out,
        progress=not args.no_progress,
        executor=make_executor(args),
        device=device,
        trials_per_device=args.trials_per_device,
    )
    return all_failed_status(args.store, run_id)


def all_failed_status(store_path: str, run_id: str) -> int:
    """1 with a one-line error when every trial of the run failed (a workload that cannot train: a bad optimizer
    name, a ``build`` that raises; or every lr diverged), else 0; a few failed trials among finished ones are
    reported, not fatal."""
    from .formatting import count
    from .store import Store

    with Store(store_path, read_only=True) as store:
        statuses = [t["status"] for t in store.trials(run_id)]
    if statuses and all(status == "failed" for status in statuses):
        print(
            f"tuneless bench: error: all {count(len(statuses), 'trial')} of run {run_id} failed (see the first error "
            f"above; `tuneless bench export --store {store_path} --run-id {run_id} -o -` lists them all)",
            file=sys.stderr,
        )
        return 1
    return 0


def check_workers(workers: int | None) -> None:
    if workers is not None and workers < 1:
        raise ValueError(f"--workers {workers}: must be a positive integer")


def check_plan(config: object) -> None:
    """The run's methods and workloads resolve (before the store is created or a trial runs)."""
    from .methods import check_optimizer_spec, resolve_methods
    from .workloads import resolve_workload

    methods = resolve_methods(config.methods)  # type: ignore[attr-defined]
    for ref in config.workloads:  # type: ignore[attr-defined]
        workload = resolve_workload(ref, config.overrides[ref])  # type: ignore[attr-defined]
        for method in methods:  # the optimizers a method builds from the workload's (e.g. mechanic_<optimizer>)
            for trial in method.trials(workload):
                check_optimizer_spec(trial.optimizer, f"method {method.name!r} on workload {workload.name!r}")


def check_store(path: str) -> None:
    """The store can be used (a tuneless store, or a new file in a writable folder); ``ValueError`` if not."""
    from .store import Store

    if not Path(path).exists() or (Path(path).is_file() and Path(path).stat().st_size == 0):
        check_output_file(path, "--store")  # a new store (an empty file is one too)
        return
    Store(path, read_only=True).close()  # a tuneless store? (written to only by the command itself)
    if not os.access(path, os.W_OK) or not os.access(Path(path).resolve().parent, os.W_OK):
        raise ValueError(f"--store {path!r}: read-only (the file or its folder); the benchmark writes to its store")


def check_resume_options(args: argparse.Namespace) -> None:
    """``--resume`` continues a run as it was planned: an option given with it must say what the run says."""
    from .store import Store

    if not Path(args.store).exists():
        raise ValueError(f"--resume: the store {args.store!r} has no run to resume (no such file)")
    with Store(args.store, read_only=True) as store:
        run_id = args.run_id or store.latest_run_id()
        config = store.run(run_id)["config"]
    given = {
        "--suite": (args.suite if args.suite != "quick" else None, config["suite"]),
        "--workload": (args.workload, config["workloads"]),
        "--methods": (args.methods, config["methods"]),
        "--seeds": (args.seeds, config["seeds"]),
    }
    for option, (value, stored) in given.items():
        if value is not None and value != stored:
            shown = " ".join(map(str, value)) if isinstance(value, list) else value
            planned = " ".join(map(str, stored)) if isinstance(stored, list) else stored
            raise ValueError(
                f"--resume with {option} {shown}: run {run_id} was planned with {option} {planned}; drop {option} "
                "to continue it, or start a new run without --resume"
            )


def run_device(args: argparse.Namespace) -> str:
    """The device the options ask for (``device.resolve_device``); Ray tasks run on the CPU."""
    from .device import resolve_device

    device = resolve_device(args.device, "--device")
    if args.trials_per_device < 1:
        raise ValueError(f"--trials-per-device {args.trials_per_device}: must be a positive integer")
    if args.executor == "ray":
        if args.device != "auto" and device != "cpu":
            raise ValueError(f"--device {args.device!r}: --executor ray runs trials on the CPU only (--device cpu)")
        return "cpu"
    return device


def make_executor(args: argparse.Namespace) -> object | None:
    """The executor the options ask for (None: run_benchmark's local process pool)."""
    if args.address and args.executor != "ray":
        raise ValueError("--address is only for --executor ray")
    if args.executor == "local":
        return None
    from .ray_executor import RayExecutor

    return RayExecutor(address=args.address, num_cpus=args.workers)


def export_command(args: argparse.Namespace) -> int:
    from .store import Store

    if args.output != "-":
        check_output_file(args.output, "-o/--output", [("--store", args.store)])
    with Store(args.store, read_only=True) as store:
        count = store.export_csv(args.table, args.output, args.run_id)
    print(f"wrote {count} {args.table} rows to {args.output}", file=sys.stderr if args.output == "-" else sys.stdout)
    return 0


def set_targets_command(args: argparse.Namespace) -> int:
    from .benchmark import BenchConfig, run_benchmark
    from .store import Store
    from .suites import get_suite
    from .targets import TARGET_METHOD, compute_targets, load_targets, targets_path, write_targets

    check_seeds(args.seeds, "--seeds")
    check_workers(args.workers)
    if args.run_id is not None and args.from_store is None:
        raise ValueError("--run-id names the run of --from-store; set-targets without it trains its own run")
    outside = [ref for ref in args.workload or [] if ref not in get_suite(args.suite).workloads]
    if outside and args.output is None:
        raise ValueError(
            f"--workload {' '.join(outside)}: not in the {args.suite} suite; give --output FILE.json (the package's "
            f"targets/{args.suite}.json holds the suite's own workloads)"
        )
    output = check_output_file(
        targets_path(args.suite) if args.output is None else args.output,
        "--output",
        [("--store", args.store), ("--from-store", args.from_store)],
    )
    # merged into the file it replaces: the package's, or an --output of the same suite written before (checked
    # before anything trains)
    previous = load_targets(args.suite) if output.resolve() == targets_path(args.suite).resolve() else {}
    if output.is_file() and not previous:
        previous = _targets_of_suite(output, args.suite)
    if args.from_store is not None:
        with Store(args.from_store, read_only=True) as store:
            run_id = args.run_id if args.run_id is not None else _latest_run(store, args.from_store)
            seeds = args.seeds or store.run(run_id)["config"].get("seeds")  # default: all of the run's
            config = BenchConfig.from_options(
                args.suite, args.workload, [TARGET_METHOD], seeds, use_targets=False, lr_resolution=None
            )
            computed = _targets_from_run(store, run_id, config, chosen=args.run_id is not None)
        used = "seed 0" if config.seeds == 1 else f"seeds 0-{config.seeds - 1}"
        for entry in computed.values():
            entry["procedure"] += (
                f" (applied to the grid trials of {used} of that benchmark run, in {Path(args.from_store).name}: "
                "set-targets --from-store)"
            )
    else:
        config = BenchConfig.from_options(  # the documented procedure: the grid only
            args.suite, args.workload, [TARGET_METHOD], args.seeds, use_targets=False, lr_resolution=None
        )
        check_plan(config)
        check_store(args.store)
        device = run_device(args)
        run_id = run_benchmark(
            args.store,
            config,
            workers=args.workers,
            progress=not args.no_progress,
            executor=make_executor(args),
            device=device,
            trials_per_device=args.trials_per_device,
        )
        with Store(args.store) as store:
            computed = compute_targets(store, run_id, store.run(run_id)["config"]["data_hashes"])
    write_targets(output, args.suite, {**previous, **computed})
    for name, entry in sorted(computed.items()):
        print(f"{name}: {entry['metric']} target {entry['target']:.6g} (data {entry['data_hash']})")
        failed = sorted(set(range(config.seeds)) - {s["seed"] for s in entry["per_seed"]})
        if failed:
            print(
                f"  note: every {TARGET_METHOD} grid trial of seed{'s' * (len(failed) > 1)} "
                f"{', '.join(map(str, failed))} failed: the target is the median of the other "
                f"{len(entry['per_seed'])}"
            )
        grid = _grid_of(config, name)
        edges = (
            [s["seed"] for s in entry["per_seed"] if s["peak_lr"] in (min(grid), max(grid))] if len(grid) > 2 else []
        )
        if edges:
            print(
                f"  note: the best {TARGET_METHOD} run of {len(edges)} of {len(entry['per_seed'])} seeds is at an edge "
                "of the grid: a better-tuned run reaches this target before 3/4 of the budget"
            )
    print(f"wrote {output}")
    return 0


def _latest_run(store: Any, path: str) -> str:
    try:
        return store.latest_run_id()
    except ValueError:
        raise ValueError(f"--from-store {path}: the store has no run") from None


def _targets_of_suite(path: Path, suite: str) -> dict[str, Any]:
    """The workloads of an existing targets file of ``suite`` (a file of another suite is an error)."""
    import json

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


def _grid_of(config: Any, name: str) -> tuple[float, ...]:
    from .workloads import resolve_workload

    for ref in config.workloads:
        workload = resolve_workload(ref, config.overrides[ref])
        if workload.name == name:
            return tuple(workload.peak_lrs)
    return ()


def _targets_from_run(store: Any, run_id: str, config: Any, chosen: bool = True) -> dict[str, dict[str, Any]]:
    """The procedure applied to an existing run's cosine grid trials. The run must be of the same suite and train
    each workload as the procedure would: the suite's overrides (but the target) where the run has them, and for
    every workload grid trials at its budget, for every grid lr and seed, finished (done, or failed: a diverged run
    is part of the grid, as in a run of set-targets itself). ``chosen``: the run was named (--run-id), not the
    store's latest. The targets name the data the run recorded; a run stored before runs recorded it, the data
    here."""
    import json
    import platform

    from .targets import TARGET_METHOD, compute_targets
    from .workloads import resolve_workload

    run = store.run(run_id)
    which = f"run {run_id}" if chosen else f"run {run_id} (the store's latest; choose another with --run-id)"
    if run["suite"] != config.suite:
        raise ValueError(f"--from-store: {which} is of the {run['suite']} suite, not {config.suite}")
    run_seeds = run["config"].get("seeds")
    if run_seeds is not None and config.seeds > run_seeds:
        raise ValueError(f"--from-store: {which} has {run_seeds} seeds, not {config.seeds} (--seeds)")
    cosine = [t for t in store.trials(run_id) if t["method"] == TARGET_METHOD]
    trials = [t for t in cosine if t["status"] != "running"]
    in_run = sorted({t["workload"] for t in cosine})
    recorded = run["config"].get("data_hashes") or {}
    hashes = {}
    grids = {}
    for ref in config.workloads:
        workload = resolve_workload(ref, config.overrides[ref])
        if workload.name not in in_run:
            has = f"it has {', '.join(in_run)}" if in_run else "it has none"
            raise ValueError(
                f"--from-store: {which} has no {TARGET_METHOD} trial of {workload.name}; {has} (choose with --workload)"
            )
        if workload.name in recorded:
            hashes[workload.name] = recorded[workload.name]
        else:  # a run stored before runs recorded their data: hash the data here
            reason = workload.unavailable_reason()
            if reason is not None:
                raise ValueError(f"--from-store: {workload.name}: {reason} (its data hash is part of the target)")
            hashes[workload.name] = workload.data_hash()
            ran_on = (run["config"].get("environment") or {}).get("python")
            if ran_on is not None and ran_on != platform.python_version():
                print(
                    f"note: {which} did not record its data; {workload.name}'s target is stamped with the hash of the "
                    f"data here (Python {platform.python_version()}; the run had {ran_on}, and the stdlib LM's "
                    "corpus changes with the Python version)"
                )
        stored = run["config"].get("overrides", {}).get(ref)
        if stored is not None:
            stored = {k: v for k, v in stored.items() if k != "target"}
            wanted = json.loads(json.dumps(config.overrides[ref]))  # tuples as the stored JSON has them
            if stored != wanted:
                raise ValueError(
                    f"--from-store: {which} trains {workload.name} with {stored}, the {config.suite} suite with "
                    f"{wanted}"
                )
        grid = set(workload.peak_lrs)
        own = [t for t in trials if t["workload"] == workload.name and t["peak_lr"] in grid]
        budgets = sorted({t["budget_steps"] for t in own})
        if budgets and budgets != [workload.budget_steps]:
            raise ValueError(
                f"--from-store: {which} trains {workload.name} for {budgets} steps, the {config.suite} suite "
                f"for {workload.budget_steps}"
            )
        finished = {(t["seed"], t["peak_lr"]) for t in own}
        missing = sorted((s, lr) for s in range(config.seeds) for lr in grid if (s, lr) not in finished)
        running = {(t["seed"], t["peak_lr"]) for t in cosine if t["status"] == "running"} & set(missing)
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
        grids[workload.name] = grid
    return compute_targets(
        store,
        run_id,
        hashes,
        keep=lambda t: t["workload"] in grids and t["peak_lr"] in grids[t["workload"]] and t["seed"] < config.seeds,
    )


def _first_few(items: list[Any]) -> str:
    return f"{items[:3]}{' ...' if len(items) > 3 else ''}"


def tables_command(args: argparse.Namespace) -> int:
    from .tables import markdown_tables

    if args.output and args.output != "-":
        check_output_file(args.output, "-o/--output", [("--store", args.store)])
    if args.figure:
        from ..plotting import check_figure_path

        outputs = [("-o/--output", args.output)] if args.output and args.output != "-" else []
        check_figure_path(args.figure, "--figure", [("--store", args.store), *outputs])
    text = markdown_tables(args.store, args.run_id)
    if args.output and args.output != "-":
        write_text_atomic(args.output, text)
        print(f"wrote {args.output}")
    else:
        print(text, end="")
    if args.figure:
        from .tables import claim_figure

        drawn = claim_figure(args.store, args.figure, args.run_id)
        message = f"wrote {drawn}" if drawn else "no figure: no claim has both of its methods with a common seed"
        print(message, file=sys.stderr)
    return 0


def list_command(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from .methods import METHODS
    from .suites import SUITES
    from .workloads import BUILTIN_WORKLOADS

    workloads = Table(
        title="workloads",
        caption="metric: ↓ lower is better, ↑ higher; steps: the workload's own budget (the full suite's); "
        "the quick, long and gpu suites set theirs",
    )
    workloads.add_column("name", no_wrap=True)
    workloads.add_column("metric", no_wrap=True)
    workloads.add_column("steps", justify="right")
    workloads.add_column("batch", justify="right")
    workloads.add_column("optimizer", min_width=12, overflow="fold")
    unavailable = []
    for name, factory in BUILTIN_WORKLOADS.items():
        w = factory()
        reason = w.unavailable_reason()
        if reason is not None:
            unavailable.append(f"{name}: unavailable: {reason}")
        workloads.add_row(
            name + (" (unavailable)" if reason else ""),
            f"{w.metric} {'↑' if w.higher_is_better else '↓'}",
            str(w.budget_steps),
            str(w.batch_size),
            w.optimizer.replace(",", ", "),  # lets a long spec wrap between its arguments
        )
    methods = Table(title="methods")
    methods.add_column("name", no_wrap=True)
    methods.add_column("description")
    for method in METHODS.values():
        methods.add_row(method.name, method.description)
    suites = Table(title="suites")
    suites.add_column("name")
    suites.add_column("description")
    for suite in SUITES.values():
        suites.add_row(suite.name, suite.description)
    console = Console(file=sys.stdout)
    console.print(workloads)
    for line in unavailable:
        console.print(line, markup=False)
    for table in (methods, suites):
        console.print(table)
    return 0
