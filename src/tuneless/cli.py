"""The ``tuneless`` command. Each feature registers its subcommands from its own ``cli`` module.

Errors the user can fix are printed as one line on stderr, no traceback, exit status 2: bad specs, files and
arguments (``ValueError``) and a missing optional dependency (an ``ImportError`` naming the extra to install).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import NoReturn

from .extras import missing_extra

# Each module has ``register(subparsers)``; the handler it sets returns an exit status (or None for 0).
COMMAND_MODULES = [
    "tuneless.schedules.cli",
    "tuneless.refine.cli",
    "tuneless.refine.transfer_cli",
    "tuneless.laws.cli",
    "tuneless.bench.cli",
]


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line (the offending argument and what is allowed), with a pointer to --help."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[no-untyped-def]
        """An empty value is an error, never the default: ``--output ''`` must not fall back to the default file
        (each subcommand's parser checks its own arguments)."""
        namespace, extras = super().parse_known_args(args, namespace)
        for action in self._actions:
            value = getattr(namespace, action.dest, None)
            if value == action.default:
                continue
            empty = [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str) and not v.strip()]
            if empty:
                name = "/".join(action.option_strings) or action.metavar or action.dest
                self.error(f"argument {name}: empty value {empty[0]!r}")
        return namespace, extras


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tuneless",
        description="Learning-rate schedules with a reason: linear decay, refinement from gradient norms, "
        "loss-curve laws, and a benchmark to compare them.",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"tuneless {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def error_text(err: Exception) -> str:
    """One line for an error: an OSError on a named file reads ``'x.csv': no such file or directory``, not
    ``[Errno 2] No such file or directory: 'x.csv'``."""
    if (
        isinstance(err, OSError)
        and isinstance(err.filename, (str, os.PathLike))
        and err.filename2 is None  # a rename's two names: the usual text keeps both
        and err.strerror
    ):
        return f"{os.fspath(err.filename)!r}: {err.strerror[0].lower()}{err.strerror[1:]}"
    return str(err)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status = args.handler(args)
    except BrokenPipeError:  # the reader went away (``tuneless ... | head``): stop quietly, like other tools
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at interpreter exit
        return 141
    except (ValueError, OSError) as err:  # OSError: a file the user named (missing, read-only, a folder, a disk full)
        print(f"tuneless {args.command}: error: {error_text(err)}", file=sys.stderr)
        return 2
    except ImportError as err:
        missing = missing_extra(err, f"tuneless {args.command}")
        if missing is None:
            raise
        print(f"tuneless {args.command}: error: {missing}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except RecursionError:
        print(f"tuneless {args.command}: error: input nested too deeply", file=sys.stderr)
        return 2
    return int(status or 0)


if __name__ == "__main__":
    sys.exit(main())
