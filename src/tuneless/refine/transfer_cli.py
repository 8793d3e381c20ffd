"""``tuneless transfer --lr LR --from SPEC@STEPS --to SPEC@STEPS ...`` and ``... --extend NEW_TOTAL``."""

from __future__ import annotations

import argparse

from ..output_files import check_output_file
from ..schedules import as_schedule
from ..schedules.grammar import split_steps
from .logs import read_trace
from .trace import NORM_COLUMNS
from .transfer import best_base_lr, extend_schedule, transfer_lr


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "transfer",
        help="move a tuned peak lr to another horizon or schedule, or extend a run, by the last-iterate bound",
        description="Transfer a peak lr tuned for one schedule and horizon to others by the ratio of their "
        "bound-optimal base lrs (Schaipp et al. 2025, arXiv 2501.18965): lr_new = LR * gamma*_new / gamma*_tuned. "
        "With --extend (alone or beside --to), also print the continuation of a run to a longer horizon at the "
        "same peak lr: the factor rho of the new steps' schedule that keeps the bound-optimal base lr of the whole "
        "run.",
    )
    p.add_argument("--lr", type=float, required=True, help="the tuned peak learning rate")
    p.add_argument(
        "--from", dest="source", required=True, metavar="SPEC@STEPS", help="the tuned run, e.g. 'linear@1000'"
    )
    p.add_argument("--to", nargs="+", default=[], metavar="SPEC@STEPS", help="runs to transfer the lr to")
    p.add_argument(
        "--extend",
        type=int,
        default=None,
        metavar="NEW_TOTAL",
        help="extend the run to NEW_TOTAL steps in all (the new horizon, not the number of steps added)",
    )
    p.add_argument("--reached", type=int, default=None, help="with --extend: the step the run got to (default: all)")
    p.add_argument(
        "--continuation",
        default="linear",
        metavar="SPEC",
        help="with --extend: the shape of the new steps, scaled by rho (default linear: a new cooldown; "
        "'constant' for a lowered second stage)",
    )
    p.add_argument("-o", "--output", default=None, help="with --extend: write the extended schedule (JSON) here")
    p.add_argument("--trace", default=None, help="gradient-norm trace of the tuned run (default: constant norms)")
    p.add_argument(
        "--norm",
        choices=NORM_COLUMNS,
        default="grad_l2",
        help="trace column (default grad_l2; grad_l2 for SGD, grad_l1 for Adam)",
    )
    p.set_defaults(handler=_transfer)


def parse_run(arg: str, option: str) -> tuple[str, int]:
    """``SPEC@STEPS`` -> (spec, steps); the spec is checked by parsing it."""
    try:
        spec, steps = split_steps(arg)
    except ValueError as err:
        raise ValueError(f"{option} {arg!r}: {err}") from None
    if steps is None or not spec:
        raise ValueError(f"{option} {arg!r}: expected SPEC@STEPS, e.g. 'warmup(linear,fraction=0.05)@1000'")
    as_schedule(spec)
    return spec, steps


def _transfer(args: argparse.Namespace) -> int:
    if not (args.lr > 0 and args.lr < float("inf")):
        raise ValueError(f"--lr {args.lr!r} must be a finite number > 0")
    spec, steps = parse_run(args.source, "--from")
    norms = read_trace(args.trace).norms(args.norm) if args.trace else None
    if norms is not None and len(norms) != steps:
        raise ValueError(
            f"--trace {args.trace!r} holds {len(norms)} steps but --from {args.source!r} ran {steps}: give the trace "
            "of the tuned run"
        )
    if args.extend is None and not args.to:
        raise ValueError("give --to SPEC@STEPS ... (transfer) or --extend NEW_STEPS (extension)")
    if args.extend is None and (args.output or args.reached is not None):
        raise ValueError("--output and --reached go with --extend")
    if args.output:
        check_output_file(args.output, "-o/--output", [("--trace", args.trace)])
    targets = [parse_run(arg, "--to") for arg in args.to]
    tuned = best_base_lr(spec, steps, norms)
    print(f"tuned: {spec} over {steps} steps at lr {args.lr:g} (bound-optimal base lr {tuned:.6g}, D = 1)")
    for to_spec, to_steps in targets:
        lr = transfer_lr(args.lr, spec, steps, to_spec, to_steps, norms)
        print(f"  {lr:.6g}  {to_spec} over {to_steps} steps (x{lr / args.lr:.4f})")
    if args.extend is not None:
        reached = steps if args.reached is None else args.reached
        extended, rho = extend_schedule(spec, steps, reached, args.extend, args.continuation, norms)
        print(
            f"extension to {args.extend} steps in all ({args.extend - steps:+d} on the tuned {steps}) from step "
            f"{reached}: keep lr {args.lr:g}, steps {reached}.."
            f"{args.extend - 1} run {rho:.6g} * {as_schedule(args.continuation).spec} over those "
            f"{args.extend - reached} steps"
        )
        if args.output:
            extended.save(args.output)
            print(
                f"wrote {args.output} (ScheduleLR(optimizer, {args.output!r}, {args.extend}) resumes with it; at "
                "another total it would be stretched, and ScheduleLR warns)"
            )
    return 0
