"""``tuneless refine TRACE.csv --weighting adam [--tau X] -o refined.json [--plot refined.png]``."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

from ..output_files import atomic_path, check_output_file
from ..schedules import Tabulated
from .refinement import DEFAULT_TAU, WEIGHTINGS, median_smooth, refine
from .trace import Trace, read_trace


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "refine",
        help="refine a schedule from a recorded gradient-norm trace",
        description="Refine a learning-rate schedule from the gradient norms a previous run recorded "
        "(tuneless.torch.GradNormRecorder, or a CSV with 'step,grad_l2' or 'step,grad_l1'). Writes a tabulated "
        "schedule (JSON) that 'tuneless schedules values' and tuneless.torch.ScheduleLR read, at any horizon.",
    )
    p.add_argument("trace", help="trace CSV file")
    p.add_argument(
        "--weighting",
        required=True,
        choices=list(WEIGHTINGS),
        help="sgd: L2 norms, weights ||g||_2^-2 (SGD, SGD with momentum); "
        "adam: L1 norms, weights ||g||_1^-1 (Adam, AdamW, NAdamW and other coordinate-wise optimizers)",
    )
    p.add_argument(
        "--tau",
        type=float,
        default=DEFAULT_TAU,
        help=f"median-filter width as a fraction of the run, in [0, 1] (default {DEFAULT_TAU}; 0 = no smoothing)",
    )
    p.add_argument("-o", "--output", required=True, help="JSON file to write the refined schedule to")
    p.add_argument(
        "--allow-gaps",
        action="store_true",
        help="refine a trace with missing steps (a crash, a resume) by interpolating them, with a warning naming "
        "the ranges (default: refuse it)",
    )
    p.add_argument("--plot", default=None, help="also draw raw and smoothed norms and the schedule (PNG/PDF/SVG)")
    p.set_defaults(handler=_refine)


def _refine(args: argparse.Namespace) -> int:
    inputs = [("the trace", args.trace)]
    check_output_file(args.output, "-o/--output", inputs)
    if args.plot:
        from ..plotting import check_figure_path

        check_figure_path(args.plot, "--plot", [*inputs, ("-o/--output", args.output)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            trace = read_trace(args.trace)
            if args.allow_gaps:
                trace = trace.with_gaps_filled()
            schedule = refine(trace, weighting=args.weighting, tau=args.tau)
        finally:  # the warnings that came before an error explain it too
            for warning in caught:
                print(f"tuneless refine: warning: {warning.message}", file=sys.stderr)
    meta = schedule.meta
    # Both files or neither: the figure first (the likelier to fail), then the schedule, each renamed into place.
    figure = plot_refinement(trace, schedule, args.plot) if args.plot else None
    with atomic_path(args.output) as temporary:
        schedule.save(temporary)
    path = Path(args.output)
    values = schedule.array
    print(
        f"refined {meta['steps']} steps of {meta['norm_column']} ({args.weighting}, median window {meta['window']} "
        f"step{'s' if meta['window'] != 1 else ''}, tau={meta['tau']:g}): starts at {values[0]:.3g} of the peak, "
        f"peaks at {100 * meta['peak_progress']:.1f}% of training"
    )
    print(f"wrote {path}")
    if figure is not None:
        print(f"wrote {figure}")
    return 0


def plot_refinement(trace: Trace, schedule: Tabulated, path: str | Path) -> Path:
    """One figure: the raw and smoothed gradient norms (top), the refined schedule and linear decay (bottom), both
    against the step of the recorded run."""
    from ..plotting import pyplot, save

    meta = schedule.meta
    raw = trace.norms(meta["norm_column"])
    finite = np.isfinite(raw)
    smoothed = median_smooth(raw[finite], meta["window"])
    steps = trace.step[finite]
    schedule_steps = np.linspace(steps[0], steps[-1], len(schedule.array))

    plt = pyplot()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6.5), sharex=True, height_ratios=(1, 1.2))
    top.plot(trace.step, raw, lw=0.7, alpha=0.45, color="tab:gray", label=f"{meta['norm_column']} (recorded)")
    top.plot(steps, smoothed, lw=2, color="tab:blue", label=f"median over {meta['window']} steps")
    top.set_ylabel(f"gradient norm ({meta['norm_column']})")
    if (raw[finite] > 0).all():
        top.set_yscale("log")
    top.grid(alpha=0.3)
    top.legend(fontsize=8, loc="best")
    top.set_title(f"Refinement ({meta['weighting']}, tau={meta['tau']:g}) of {Path(trace.source).name}")

    progress = np.linspace(0, 1, len(schedule.array))
    bottom.plot(schedule_steps, schedule.array, lw=2, color="tab:red", label="refined schedule")
    bottom.plot(schedule_steps, 1 - progress, lw=1.2, ls="--", color="black", label="linear decay")
    bottom.set_xlabel("step of the recorded run")
    bottom.set_ylabel("learning-rate multiplier (x peak lr)")
    bottom.set_ylim(0, 1.05)
    bottom.grid(alpha=0.3)
    bottom.legend(fontsize=8, loc="best")
    return save(fig, path)
