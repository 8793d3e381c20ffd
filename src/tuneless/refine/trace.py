"""Reading gradient-norm trace files (the recorder in ``tuneless.torch`` writes them).

Format (CSV, one header line, one row per optimizer step)::

    step,grad_l2,grad_l1,lr[,lr_1,lr_2,...],loss

* ``step``: the 0-based optimizer step (an integer); ``grad_l2`` / ``grad_l1``: the L2 / L1 norm of the whole
  gradient, logged before the optimizer touched it; ``lr``: the learning rate of param group 0; ``loss``: the loss
  the user passed for that step (empty when none).
* A user-made trace may hold only ``step,grad_l2`` or ``step,grad_l1``: ``step`` and at least one norm column are
  required; the other columns are optional (NaN when absent) and unknown columns are ignored.
* Empty fields read as NaN; ``nan``/``inf`` are kept as written (``refine`` drops non-finite norms).

Damage, and what the reader does with it:

* an empty file, a file with no header, or a header with no rows: ``ValueError`` naming the file;
* a line cut short by a crash: dropped with ONE :class:`RefinementWarning` naming the file and the line(s), so a
  crashed run's trace can still be refined. A cut line is a row with fewer fields than the header (anywhere: a run
  resumed after the crash appends its rows after the cut line), or a last line with no final newline that does not
  parse;
* any other malformed row (more fields than the header, a field that is not a number, a bad step):
  ``ValueError`` naming the file and the line;
* a step recorded more than once (a run resumed without ``GradNormRecorder.load_state_dict`` appends the steps it
  re-does): the last record of each step is kept, with a warning; rows are returned sorted by step;
  ``Trace.repeated_steps`` counts the rows dropped;
* steps missing between the first and the last (a crash that lost rows, a resume that skipped steps): reported in
  ``Trace.gaps`` as inclusive ``(first, last)`` ranges; ``refine`` refuses such a trace unless told to fill them
  (``Trace.with_gaps_filled``, ``tuneless refine --allow-gaps``);
* a file that is not UTF-8 text (binary, UTF-16): ``ValueError`` naming the file. A UTF-8 byte-order mark (as
  spreadsheet programs write) is accepted.
"""

from __future__ import annotations

import csv
import dataclasses
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._warning import RefinementWarning

__all__ = ["Trace", "read_trace", "NORM_COLUMNS", "format_ranges"]

#: The gradient-norm columns a trace may hold: L2 (for SGD-type optimizers) and L1 (for Adam-type).
NORM_COLUMNS = ("grad_l2", "grad_l1")
_VALUE_COLUMNS = ("grad_l2", "grad_l1", "lr", "loss")


@dataclass(frozen=True, eq=False)
class Trace:
    """A gradient-norm trace as numpy arrays, one entry per recorded optimizer step (sorted by step).

    ``grad_l2``, ``grad_l1``, ``lr`` and ``loss`` are float arrays with NaN where a value is missing (an empty field,
    or a column the file does not have). ``norm_columns`` names the norm columns the file has, in file order.
    ``gaps``: the missing steps between the first and the last, as inclusive ``(first, last)`` ranges (computed
    from ``step``); ``repeated_steps``: rows of the file that repeated an earlier step (the last record was kept).
    """

    step: np.ndarray
    grad_l2: np.ndarray
    grad_l1: np.ndarray
    lr: np.ndarray
    loss: np.ndarray
    norm_columns: tuple[str, ...]
    source: str = ""
    repeated_steps: int = 0

    def __len__(self) -> int:
        return len(self.step)

    @property
    def gaps(self) -> tuple[tuple[int, int], ...]:
        step = np.asarray(self.step)
        jumps = np.flatnonzero(np.diff(step) > 1)
        return tuple((int(step[i]) + 1, int(step[i + 1]) - 1) for i in jumps)

    def with_gaps_filled(self) -> Trace:
        """The trace with every missing step between the first and the last filled in: norms, lr and loss
        interpolated linearly in the step from the finite neighbours, with one :class:`RefinementWarning` naming
        the filled ranges. A trace without gaps is returned as it is."""
        gaps = self.gaps
        if not gaps:
            return self
        where = f"trace {self.source}" if self.source else "the trace"
        missing = sum(last - first + 1 for first, last in gaps)
        warnings.warn(
            f"{where}: interpolated {missing} missing step(s): {format_ranges(gaps)}",
            RefinementWarning,
            stacklevel=2,
        )
        steps = np.arange(int(self.step[0]), int(self.step[-1]) + 1)

        def fill(values: np.ndarray) -> np.ndarray:
            finite = np.isfinite(values)
            out = np.full(len(steps), np.nan)
            out[self.step - steps[0]] = values
            if finite.sum() >= 1:
                hole = np.ones(len(steps), dtype=bool)
                hole[self.step - steps[0]] = False
                out[hole] = np.interp(steps[hole], self.step[finite], values[finite])
            return out

        return dataclasses.replace(
            self,
            step=steps,
            grad_l2=fill(self.grad_l2),
            grad_l1=fill(self.grad_l1),
            lr=fill(self.lr),
            loss=fill(self.loss),
        )

    def norms(self, column: str) -> np.ndarray:
        """The norm column ``"grad_l2"`` or ``"grad_l1"``; ValueError if the file does not have it."""
        if column not in NORM_COLUMNS:
            raise ValueError(f"norm column {column!r} is not one of {', '.join(NORM_COLUMNS)}")
        if column not in self.norm_columns:
            where = f"trace {self.source}" if self.source else "the trace"
            raise ValueError(f"{where} has no {column} column (it has {', '.join(self.norm_columns)})")
        return getattr(self, column)


def _parse_float(text: str) -> float:
    text = text.strip()
    return float(text) if text else float("nan")


def _fields(path: Path, line_number: int, line: str) -> list[str]:
    try:
        return next(csv.reader([line]))
    except csv.Error as err:
        raise ValueError(f"trace {path}, line {line_number}: not CSV ({err}): {line.rstrip()[:80]!r}") from None


def format_ranges(ranges: tuple[tuple[int, int], ...], shown: int = 5) -> str:
    """``"steps 50-149, 300"``: inclusive step ranges for a message (the first ``shown``, then a count)."""
    parts = [str(a) if a == b else f"{a}-{b}" for a, b in ranges[:shown]]
    more = f" and {len(ranges) - shown} more range(s)" if len(ranges) > shown else ""
    return "steps " + ", ".join(parts) + more


def _parse_row(fields: list[str], index: dict[str, int], n_fields: int) -> tuple[int, list[float]]:
    """(step, [grad_l2, grad_l1, lr, loss]) of one data row; ``ValueError`` saying what is wrong with it."""
    if len(fields) != n_fields:
        raise ValueError(f"{len(fields)} fields where the header has {n_fields}")
    step_text = fields[index["step"]].strip()
    try:
        step = int(step_text)
    except ValueError:
        raise ValueError(f"step {step_text!r} is not an integer") from None
    if step < 0:
        raise ValueError(f"step {step} is negative")
    values = []
    for name in _VALUE_COLUMNS:
        if name not in index:
            values.append(float("nan"))
            continue
        field = fields[index[name]]
        try:
            values.append(_parse_float(field))
        except ValueError:
            raise ValueError(f"{name} {field.strip()!r} is not a number") from None
    return step, values


def _last_record_of_each_step(steps: np.ndarray, table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sorted distinct steps and the table's row of the last record of each (np.unique on the reversed array
    finds last occurrences)."""
    unique_steps, first_in_reversed = np.unique(steps[::-1], return_index=True)
    return unique_steps, table[len(steps) - 1 - first_in_reversed]


def _text_lines(path: Path) -> list[str]:
    """The lines of the UTF-8 text file ``path`` (ends kept), or a ``ValueError`` saying what else it is."""
    if path.is_dir():
        raise ValueError(f"trace {path}: is a directory, not a CSV file")
    if path.exists() and not path.is_file():
        raise ValueError(f"trace {path}: not a regular file (a device or a FIFO?), not a CSV file")
    with path.open("rb") as f:
        data = f.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        kind = "UTF-16 text" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else "not UTF-8 text"
        raise ValueError(f"trace {path}: {kind} (byte {err.start}); save it as a UTF-8 CSV file") from None
    if "\x00" in text:
        raise ValueError(f"trace {path}: a binary file (it holds NUL bytes), not a CSV trace")
    return text.splitlines(keepends=True)


def read_trace(path: str | Path) -> Trace:
    """Reads a trace file (format and damage handling in the module docstring)."""
    path = Path(path)
    lines = _text_lines(path)
    if not lines or not lines[0].strip():
        raise ValueError(f"trace {path}: empty file (expected a header line 'step,grad_l2,grad_l1,lr,loss')")
    header = [name.strip() for name in _fields(path, 1, lines[0])]
    if "step" not in header or not any(name in header for name in NORM_COLUMNS):
        raise ValueError(
            f"trace {path}, line 1: header {lines[0].strip()!r} needs a 'step' column and at least one of "
            f"{', '.join(NORM_COLUMNS)}"
        )
    index = {name: header.index(name) for name in ("step", *_VALUE_COLUMNS) if name in header}
    n_fields = len(header)

    steps: list[int] = []
    rows: list[list[float]] = []
    cut_lines: list[int] = []
    for line_number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = _fields(path, line_number, line)
        try:
            step, values = _parse_row(fields, index, n_fields)
        except ValueError as err:
            is_partial_last_line = line_number == len(lines) and not line.endswith(("\n", "\r"))
            if len(fields) < n_fields or is_partial_last_line:
                cut_lines.append(line_number)
                continue
            raise ValueError(f"trace {path}, line {line_number}: {err}: {line.rstrip()!r}") from None
        steps.append(step)
        rows.append(values)
    if cut_lines:
        shown = ", ".join(map(str, cut_lines[:10])) + (", ..." if len(cut_lines) > 10 else "")
        warnings.warn(
            f"trace {path}: dropped {len(cut_lines)} line(s) cut short by a crash while writing (line(s) {shown})",
            RefinementWarning,
            stacklevel=2,
        )

    if not rows:
        raise ValueError(f"trace {path}: no rows after the header (the run recorded no step)")
    unique_steps, table = _last_record_of_each_step(np.asarray(steps, dtype=np.int64), np.asarray(rows, dtype=float))
    if len(unique_steps) < len(steps):
        warnings.warn(
            f"trace {path}: {len(steps) - len(unique_steps)} row(s) repeat an earlier step (a resumed run?); "
            "kept the last record of each step",
            RefinementWarning,
            stacklevel=2,
        )
    return Trace(
        repeated_steps=len(steps) - len(unique_steps),
        step=unique_steps,
        grad_l2=table[:, 0],
        grad_l1=table[:, 1],
        lr=table[:, 2],
        loss=table[:, 3],
        norm_columns=tuple(name for name in header if name in NORM_COLUMNS),
        source=str(path),
    )
