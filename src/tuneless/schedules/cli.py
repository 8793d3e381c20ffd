"""``tuneless schedules list | values | plot``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..limits import check_spec_depth, check_steps
from ._base import load_schedule, registry
from .params import REQUIRED

SPEC_HELP = "a schedule spec such as 'wsd(cooldown=0.2,shape=1-sqrt)' or a JSON file written by 'tuneless refine'"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "schedules", help="list, print and plot schedules", description="List, print and plot schedules."
    )
    s = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    lst = s.add_parser("list", help="the schedules and their arguments")
    lst.set_defaults(handler=_list)

    val = s.add_parser(
        "values",
        help="print step,multiplier CSV",
        description="Print 'step,multiplier' for steps 0..T (the final value is reached at step T).",
    )
    val.add_argument("schedule", help=SPEC_HELP)
    val.add_argument("--steps", "-T", type=int, required=True, help="total steps T")
    val.set_defaults(handler=_values)

    plot = s.add_parser("plot", help="draw schedules on one figure", description="Draw schedules on one figure.")
    plot.add_argument("schedules", nargs="+", help=SPEC_HELP + " (several)")
    plot.add_argument("--steps", "-T", type=int, required=True, help="total steps T")
    plot.add_argument("-o", "--output", required=True, help="PNG (or PDF/SVG) file to write")
    plot.add_argument("--title", default=None)
    plot.set_defaults(handler=_plot)


def _list(args: argparse.Namespace) -> int:
    for name in sorted(registry):
        cls = registry[name]
        params = ", ".join(p.name + ("" if p.default is REQUIRED else f"={p.default!r}") for p in cls.params)
        doc = (cls.__doc__ or "").strip().splitlines()[0]
        print(f"{name}({params})\n    {doc}")
    return 0


def _values(args: argparse.Namespace) -> int:
    check_steps(args.steps, "--steps")
    schedule = load_schedule(check_spec_depth(args.schedule, "schedule"))
    values = schedule.values(args.steps, endpoint=True)
    out = sys.stdout
    out.write("step,multiplier\n")
    out.writelines(f"{t},{v:.10g}\n" for t, v in enumerate(values))
    return 0


def _plot(args: argparse.Namespace) -> int:
    from ..plotting import check_figure_path, plot_schedules

    check_steps(args.steps, "--steps")
    check_figure_path(args.output, "-o/--output", [("schedule file", s) for s in args.schedules])
    schedules = [load_schedule(check_spec_depth(s, "schedule")) for s in args.schedules]
    labels = [Path(s).name if s.endswith(".json") else s for s in args.schedules]  # a file: its name, not its table
    path = plot_schedules(schedules, args.steps, args.output, title=args.title, labels=labels)
    print(f"wrote {path}")
    return 0
