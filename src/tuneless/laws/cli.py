"""``tuneless predict --fit run.csv:SPEC[@STEPS] ... --schedule SPEC ... --steps T --peak-lr LR``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from ..limits import check_spec_depth, check_steps
from ..output_files import atomic_path, check_output_file
from ..schedules.grammar import split_steps
from .curves import load_curve, read_loss_csv, schedule_lrs
from .models import LAWS, make_law

PLOT_POINTS = 400
MIN_R2 = 0.9  # below it a fit explains too little of the logged curve for its predictions to mean much


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "predict",
        help="fit a loss-curve law on logged runs and predict the loss under other schedules",
        description="Fit a loss-curve law (the multi-power law of Luo et al. 2025, its saturated-drop limit, the "
        "annealing law of Tissue et al. 2024, or the last-iterate bound as a law) on one or more logged runs, then "
        "print the final loss it predicts for each --schedule over --steps steps. Learning rates are PEAK_LR times "
        "a tuneless schedule spec (see 'tuneless schedules list'), e.g. 'warmup(cosine(floor=0.1),steps=2160)'.",
    )
    p.add_argument(
        "--fit",
        nargs="+",
        required=True,
        metavar="FILE:SPEC[@STEPS]",
        help="a logged run: CSV with 'step,loss' columns (others, such as lr, are ignored), the schedule spec it "
        "ran, and its total steps (default: last logged step + 1), e.g. run.csv:cosine@24000",
    )
    p.add_argument("--schedule", nargs="+", required=True, metavar="SPEC", help="schedules to predict")
    p.add_argument("--steps", type=int, required=True, help="total steps of the predicted runs")
    p.add_argument("--peak-lr", type=float, required=True, help="peak learning rate multiplying every spec")
    p.add_argument("--law", choices=sorted(LAWS), default="multipower", help="law to fit (default multipower)")
    p.add_argument(
        "-o", "--output", default=None, help="draw the logged points, the fits and the predictions (PNG/PDF/SVG)"
    )
    p.add_argument("--save", default=None, help="write the fitted parameters to this JSON file")
    p.set_defaults(handler=_predict)


def parse_fit_arg(arg: str, peak_lr: float):
    """``FILE:SPEC[@STEPS]`` -> Curve (the file is everything before the last colon: a schedule spec has none)."""
    path, colon, spec = arg.rpartition(":")
    if not colon or not path:
        raise ValueError(f"--fit {arg!r}: expected FILE:SPEC[@STEPS], e.g. run.csv:cosine@24000")
    try:
        spec, total = split_steps(spec)
    except ValueError as err:
        raise ValueError(f"--fit {arg!r}: {err}") from None
    if total is not None:
        check_steps(total, f"--fit {arg!r}: STEPS")
    if total is None:
        steps, _ = read_loss_csv(path)
        if steps.size == 0:
            raise ValueError(f"--fit {arg!r}: {path} holds no logged points")
        total = int(np.max(steps)) + 1
    return load_curve(path, schedule_lrs(spec, total, peak_lr), name=path)


def _predict(args: argparse.Namespace) -> int:
    if args.steps < 2:
        raise ValueError(f"--steps must be >= 2, got {args.steps}")
    check_steps(args.steps, "--steps")
    if not (0 < args.peak_lr < float("inf")):
        raise ValueError(f"--peak-lr {args.peak_lr!r} must be a finite number > 0")
    for arg in args.fit:
        check_spec_depth(arg, "--fit")
    for spec in args.schedule:
        check_spec_depth(spec, "--schedule")
    # Everything the fit does not decide is checked before the fit: outputs, then the schedules to predict.
    inputs = [("--fit", arg.rpartition(":")[0]) for arg in args.fit]
    if args.output:
        from ..plotting import check_figure_path

        check_figure_path(args.output, "-o/--output", inputs)
    if args.save:
        check_output_file(args.save, "--save", [*inputs, ("-o/--output", args.output)])
    for spec in args.schedule:
        try:
            schedule_lrs(spec, args.steps, args.peak_lr)
        except ValueError as err:
            raise ValueError(f"--schedule {spec!r}: {err}") from None
    curves = [parse_fit_arg(arg, args.peak_lr) for arg in args.fit]
    law = make_law(args.law).fit(curves)
    params = ", ".join(f"{k}={v:.6g}" for k, v in law.params.items())
    print(f"{args.law} law fitted on {len(curves)} run(s) in {law.fit_info['seconds']:.1f} s: {params}")
    if law.fit_info.get("pinned_B") is not None:
        print("  two-stage fit: B measured first by the saturated limit (all drops felt at once), then held")
    for curve in curves:
        m = law.evaluate(curve)
        r2 = "n/a (a flat curve)" if np.isnan(m["R2"]) else f"{m['R2']:.4f}"
        print(f"  fit {curve.name}: R2 {r2}, PredE {100 * m['PredE']:.3f}%, WorstE {100 * m['WorstE']:.3f}%")
        if m["R2"] < MIN_R2:
            print(
                f"tuneless predict: warning: the {args.law} law explains only R2 = {m['R2']:.3f} of {curve.name}'s "
                f"logged loss (a good fit has > {MIN_R2}): do not trust its predictions; log more of the run, or try "
                "another --law",
                file=sys.stderr,
            )
    if args.save:
        with atomic_path(args.save) as temporary:
            law.save(temporary)
    grid = np.unique(np.linspace(0, args.steps - 1, PLOT_POINTS).round().astype(int))
    predictions = {}
    print(f"predicted final loss at step {args.steps - 1} (peak lr {args.peak_lr:g}):")
    for spec in args.schedule:
        lrs = schedule_lrs(spec, args.steps, args.peak_lr)
        grid_here = grid[np.cumsum(lrs)[grid] > 0]  # the law needs a positive area
        predictions[spec] = (grid_here, law.predict(lrs, grid_here))
        print(f"  {predictions[spec][1][-1]:.5f}  {spec}")
    if args.output:
        _plot(args.output, law, curves, predictions)
        print(f"wrote {args.output}")
    return 0


def _plot(path, law, curves, predictions) -> None:
    from ..plotting import pyplot, save

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 5))
    for curve in curves:
        name = Path(curve.name).name
        line = ax.plot(curve.steps, curve.losses, ".", ms=3, label=f"logged {name}")[0]
        fitted = law.predict(curve.lrs, curve.steps)
        ax.plot(curve.steps, fitted, "-", color=line.get_color(), lw=1, label=f"fit {name}")
    for spec, (steps, loss) in predictions.items():
        ax.plot(steps, loss, "--", lw=1.5, label=f"predicted {spec if len(spec) < 50 else spec[:47] + '...'}")
    lowest = min(min(c.losses.min() for c in curves), min(p[1].min() for p in predictions.values()))
    ax.set_ylim(lowest - 0.05, lowest + 1.0)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(f"{law.name} law")
    ax.legend(fontsize=7)
    save(fig, path)
