"""``tuneless bench``: run the benchmark; ``bench export``, ``bench set-targets``, ``bench list``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..limits import check_seeds
from ..output_files import check_output_file, check_output_folder, write_text_atomic

DEFAULT_STORE = "out/bench.sqlite"
DEFAULT_OUT = "out"


def register(sub: argparse._SubParsersAction) -> None:
    from .catalog.methods import METHODS
    from .catalog.suites import SUITES

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
            help=f"methods to compare, of {', '.join(methods)} (default: the suite's; `tuneless bench list`); with "
            "--resume, methods the run lacks are added to it",
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
    from .benchmark import run_benchmark
    from .run.config import BenchConfig
    from .run.plan import check_plan

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
    config, workloads = None, None
    if args.resume:
        check_resume_options(args)
    else:
        resolution = None if args.grid_only else ("suite" if args.lr_resolution is None else args.lr_resolution)
        config = BenchConfig.from_options(args.suite, args.workload, args.methods, args.seeds, lr_resolution=resolution)
        workloads = check_plan(config)
    device = run_device(args)  # before the executor: a bad --device must not start a Ray instance first
    run_id = run_benchmark(
        args.store,
        config,
        resume=args.resume,
        run_id=args.run_id,
        add_methods=args.methods if args.resume and args.methods else (),
        workers=args.workers,
        out_dir=args.out,
        progress=not args.no_progress,
        executor=make_executor(args),
        device=device,
        trials_per_device=args.trials_per_device,
        workloads=workloads,
    )
    return all_failed_status(args.store, run_id)


def all_failed_status(store_path: str, run_id: str) -> int:
    """1 with a one-line error when every trial of the run failed (a workload that cannot train: a bad optimizer
    name, a ``build`` that raises; or every lr diverged), else 0; a few failed trials among finished ones are
    reported, not fatal."""
    from .record.store import Store
    from .report.formatting import count

    with Store(store_path, read_only=True) as store:
        statuses = [t.status for t in store.trials(run_id)]
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


def check_store(path: str) -> None:
    """The store can be used (a tuneless store, or a new file in a writable folder); ``ValueError`` if not."""
    from .record.store import Store

    if not Path(path).exists() or (Path(path).is_file() and Path(path).stat().st_size == 0):
        check_output_file(path, "--store")  # a new store (an empty file is one too)
        return
    Store(path, read_only=True).close()  # a tuneless store? (written to only by the command itself)
    if not os.access(path, os.W_OK) or not os.access(Path(path).resolve().parent, os.W_OK):
        raise ValueError(f"--store {path!r}: read-only (the file or its folder); the benchmark writes to its store")


def check_resume_options(args: argparse.Namespace) -> None:
    """``--resume`` continues a run as it was planned: an option given with it must say what the run says, except
    ``--methods``, which may name more methods than the run has (they join it)."""
    from .record.store import Store

    if not Path(args.store).exists():
        raise ValueError(f"--resume: the store {args.store!r} has no run to resume (no such file)")
    with Store(args.store, read_only=True) as store:
        run_id = args.run_id or store.latest_run_id()
        config = store.run(run_id).config
    given = {
        "--suite": (args.suite if args.suite != "quick" else None, config.suite),
        "--workload": (args.workload, config.workloads),
        "--seeds": (args.seeds, config.seeds),
    }
    if args.methods is not None:
        from .catalog.methods import resolve_methods

        resolve_methods(args.methods)  # an unknown name fails here, before the run is touched
    missing = [m for m in config.methods if args.methods is not None and m not in args.methods]
    if missing:  # --methods may add methods to a resumed run, not drop any
        given["--methods"] = (args.methods, config.methods)
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
    from .run.device import resolve_device

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
    from .run.ray_executor import RayExecutor

    return RayExecutor(address=args.address, num_cpus=args.workers)


def export_command(args: argparse.Namespace) -> int:
    from .record.store import Store

    if args.output != "-":
        check_output_file(args.output, "-o/--output", [("--store", args.store)])
    with Store(args.store, read_only=True) as store:
        count = store.export_csv(args.table, args.output, args.run_id)
    print(f"wrote {count} {args.table} rows to {args.output}", file=sys.stderr if args.output == "-" else sys.stdout)
    return 0


def set_targets_command(args: argparse.Namespace) -> int:
    from .catalog.targets import write_targets
    from .run import set_targets
    from .run.driver import run_trials
    from .run.plan import check_plan

    check_seeds(args.seeds, "--seeds")
    check_workers(args.workers)
    if args.run_id is not None and args.from_store is None:
        raise ValueError("--run-id names the run of --from-store; set-targets without it trains its own run")
    others = [("--store", args.store), ("--from-store", args.from_store)]
    output, previous = set_targets.targets_file(args.suite, args.workload, args.output, others)
    if args.from_store is not None:
        computed, config, grids = set_targets.targets_from_store(
            args.from_store, args.run_id, args.suite, args.workload, args.seeds
        )
    else:
        config = set_targets.procedure_config(args.suite, args.workload, args.seeds)  # the grid only
        workloads = check_plan(config)
        check_store(args.store)
        device = run_device(args)
        run_id = run_trials(
            args.store,
            config,
            workers=args.workers,
            progress=not args.no_progress,
            executor=make_executor(args),
            device=device,
            trials_per_device=args.trials_per_device,
            workloads=workloads,
        )
        computed = set_targets.targets_of_run(args.store, run_id)
        grids = {workload.name: tuple(workload.peak_lrs) for workload in workloads.values()}
    write_targets(output, args.suite, {**previous, **computed})
    for line in set_targets.target_notes(computed, config.seeds, grids):
        print(line)
    print(f"wrote {output}")
    return 0


def tables_command(args: argparse.Namespace) -> int:
    from .report.tables import markdown_tables

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
        from .report.tables import claim_figure

        drawn = claim_figure(args.store, args.figure, args.run_id)
        message = f"wrote {drawn}" if drawn else "no figure: no claim has both of its methods with a common seed"
        print(message, file=sys.stderr)
    return 0


def list_command(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from .catalog.methods import METHODS
    from .catalog.suites import SUITES
    from .catalog.workloads import BUILTIN_WORKLOADS

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
