"""``tuneless refine TRACE.csv --weighting adam [--tau X] -o refined.json [--plot refined.png]``."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

from ..output_files import atomic_path, check_output_file
from ..schedules import Tabulated
from .logs import read_trace
from .refinement import DEFAULT_TAU, WEIGHTINGS, median_smooth, refine, weighting_of
from .trace import Trace


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "refine",
        help="refine a schedule from a recorded gradient-norm trace",
        description="Refine a learning-rate schedule from the gradient norms a previous run recorded or logged: a "
        "tuneless trace (tuneless.torch.GradNormRecorder, or a CSV with 'step,grad_l2' or 'step,grad_l1'), a Hugging "
        "Face trainer_state.json (or its checkpoint folder), TensorBoard event files, Lightning's metrics.csv, or "
        "any CSV with --step-column/--norm-column. A log of every d-th step is interpolated to every step. Writes a "
        "tabulated schedule (JSON) that 'tuneless schedules values' and tuneless.torch.ScheduleLR read, at any "
        "horizon.",
    )
    p.add_argument(
        "trace", help="trace CSV, trainer_state.json, checkpoint folder, TensorBoard event file or folder, metrics.csv"
    )
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
    p.add_argument("-o", "--output", required=True, help="JSON file (ending in .json) to write the refined schedule to")
    p.add_argument(
        "--norm-column",
        default=None,
        metavar="NAME",
        help="the column or TensorBoard tag holding the gradient norm (default: the one named like one: grad_l2, "
        "grad_l1, grad_norm, train/grad_norm, grad_2.0_norm_total)",
    )
    p.add_argument("--step-column", default=None, metavar="NAME", help="a CSV's step column (default: step)")
    p.add_argument(
        "--norm-kind",
        choices=["l2", "l1"],
        default=None,
        help="whether the norm is an L2 or an L1 norm, for a column whose name does not say (grad_norm is L2)",
    )
    p.add_argument(
        "--allow-gaps",
        action="store_true",
        help="refine a trace with missing steps (a crash, a resume, a log that starts late) by interpolating "
        "them, with a warning naming the ranges (default: refuse it; a regular logging stride is not a gap)",
    )
    p.add_argument("--plot", default=None, help="also draw raw and smoothed norms and the schedule (PNG/PDF/SVG)")
    p.set_defaults(handler=_refine)


def _refine(args: argparse.Namespace) -> int:
    inputs = [("the trace", args.trace)]
    check_output_file(args.output, "-o/--output", inputs)
    if not args.output.endswith(".json"):
        raise ValueError(
            f"-o/--output {args.output!r}: a schedule file must end in .json (ScheduleLR and 'tuneless schedules' "
            "read a path ending in .json as a file, anything else as a schedule spec)"
        )
    if args.plot:
        from ..plotting import check_figure_path

        check_figure_path(args.plot, "--plot", [*inputs, ("-o/--output", args.output)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            trace = read_trace(
                args.trace, norm_column=args.norm_column, step_column=args.step_column, norm_kind=args.norm_kind
            )
            schedule = refine(trace, weighting=args.weighting, tau=args.tau, allow_gaps=args.allow_gaps)
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
        f"read {meta['logged_steps']} {meta['norm_name']} values ({meta['log_format']} log, "
        f"{meta['norm_kind'].upper()} norm: weighting {weighting_of(meta['norm_column'])}) from {trace.source}"
        + (
            f", logged every {meta['stride']} steps: interpolated to every step 0-{meta['steps'] - 1}"
            if meta["stride"] > 1
            else ""
        )
    )
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
    with warnings.catch_warnings():  # the refinement already warned about the gaps it filled
        warnings.simplefilter("ignore")
        every_step = trace.with_gaps_filled()
    raw = trace.norms(meta["norm_column"])
    filled = every_step.norms(meta["norm_column"])
    finite = np.isfinite(filled)
    smoothed = median_smooth(filled[finite], meta["window"])
    steps = every_step.step[finite]
    schedule_steps = np.linspace(steps[0], steps[-1], len(schedule.array))

    plt = pyplot()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6.5), sharex=True, height_ratios=(1, 1.2))
    top.plot(trace.step, raw, lw=0.7, alpha=0.45, color="tab:gray", label=f"{meta['norm_name']} (logged)")
    top.plot(steps, smoothed, lw=2, color="tab:blue", label=f"median over {meta['window']} steps")
    top.set_ylabel(f"gradient norm ({meta['norm_column']})")
    if (filled[finite] > 0).all():
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
