"""``tuneless demo``: the schedules users compare, on one figure (the main job until the benchmark lands)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .plotting import plot_schedules
from .schedules import parse_schedule

DEMO_SPECS = [
    "warmup(linear,fraction=0.05)",
    "warmup(cosine,fraction=0.05)",
    "warmup(wsd(cooldown=0.2,shape=1-sqrt),fraction=0.05)",
    "warmup(rex,fraction=0.05)",
    "step",
    "onecycle",
    "constant",
]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="plot the common schedules side by side")
    p.add_argument("--out", default="out", help="output folder (default: out)")
    p.add_argument("--steps", type=int, default=1000)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    schedules = [parse_schedule(s) for s in DEMO_SPECS]
    path = plot_schedules(
        schedules,
        args.steps,
        Path(args.out) / "schedules.png",
        title="tuneless: the schedules the benchmark compares",
    )
    print(f"wrote {path}")
    return 0
