"""Gradient-norm traces: the ``Trace`` arrays and the tuneless CSV trace format (the recorder in ``tuneless.torch``
writes it; ``tuneless.refine.read_trace``, in ``tuneless.refine.logs``, reads it and the other logs).

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

Other logs (``tuneless.refine.logs``, docs/refine.md "I already trained: refine from my logs"): ``read_trace`` also
reads a Hugging Face ``trainer_state.json`` (the file or a checkpoint folder), TensorBoard event files (a file or a
folder), Lightning's CSVLogger ``metrics.csv`` and any CSV with a step and a norm column (``step_column``,
``norm_column``). Their norm goes into ``grad_l2`` or ``grad_l1`` by its kind (:func:`norm_kind_of`, or
``norm_kind``).

Sparse logs and the step rule: a log may hold every ``d``-th step (``Trace.stride``, the commonest difference
between consecutive logged steps). It is whole when it starts within the first stride (first logged step ``< d``:
what a logger of every ``d``-th step starting at step 0 leaves), no two consecutive logged steps are more than ``d``
apart, and (where the log says how long the run was, ``Trace.last_step``) it ends within the last stride. Anything
else is a gap (``Trace.gaps``: a missing start, a hole, a missing end), refused by ``refine`` unless told to fill it.
``Trace.with_gaps_filled`` gives a value to every step ``0..last``: linear interpolation between logged steps, the
first (last) logged value before (after) them.
"""

from __future__ import annotations

import csv
import dataclasses
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._warning import RefinementWarning

__all__ = ["Trace", "NORM_COLUMNS", "NORM_KINDS", "format_ranges", "norm_kind_of", "read_tuneless_lines", "csv_fields"]

#: The gradient-norm columns a trace may hold: L2 (for SGD-type optimizers) and L1 (for Adam-type).
NORM_COLUMNS = ("grad_l2", "grad_l1")
#: norm kind -> the trace column that holds a norm of that kind.
NORM_KINDS = {"l2": "grad_l2", "l1": "grad_l1"}
_VALUE_COLUMNS = ("grad_l2", "grad_l1", "lr", "loss")


@dataclass(frozen=True, eq=False)
class Trace:
    """A gradient-norm trace as numpy arrays, one entry per logged optimizer step (sorted by step; 0-based steps).

    ``grad_l2``, ``grad_l1``, ``lr`` and ``loss`` are float arrays with NaN where a value is missing (an empty field,
    or a column the file does not have). ``norm_columns`` names the norm columns the file has, in file order.
    ``repeated_steps``: rows of the file that repeated an earlier step (the last record was kept).
    ``log_format``: what wrote the file ("tuneless", "trainer_state", "tensorboard", "lightning", "csv");
    ``norm_name``: the column or tag the norm was read from; ``last_step``: the run's last optimizer step where the
    log says it (a Trainer's ``global_step - 1``), else None (the last logged step ends the run).
    """

    step: np.ndarray
    grad_l2: np.ndarray
    grad_l1: np.ndarray
    lr: np.ndarray
    loss: np.ndarray
    norm_columns: tuple[str, ...]
    source: str = ""
    repeated_steps: int = 0
    log_format: str = "tuneless"
    norm_name: str = ""
    last_step: int | None = None

    def __len__(self) -> int:
        return len(self.step)

    @property
    def stride(self) -> int:
        """The logging stride: the commonest difference between consecutive logged steps (the larger one on a tie);
        1 for a trace of every step (or of one step)."""
        differences = np.diff(np.asarray(self.step))
        if not len(differences):
            return 1
        values, counts = np.unique(differences, return_counts=True)
        return int(values[counts == counts.max()].max())

    @property
    def end(self) -> int:
        """The run's last optimizer step: ``last_step`` where the log says it, else the last logged step."""
        return int(self.step[-1]) if self.last_step is None else max(int(self.last_step), int(self.step[-1]))

    @property
    def gaps(self) -> tuple[tuple[int, int], ...]:
        """Steps with no record beyond what the stride explains, as inclusive ``(first, last)`` ranges: a missing
        start (the first logged step is ``>= stride``), holes (consecutive logged steps more than ``stride`` apart)
        and a missing end (``end - last logged >= stride``). Empty for a whole trace, sparse or not."""
        step, stride = np.asarray(self.step), self.stride
        ranges = [(0, int(step[0]) - 1)] if step[0] >= stride else []
        ranges += [(int(step[i]) + 1, int(step[i + 1]) - 1) for i in np.flatnonzero(np.diff(step) > stride)]
        if self.end - step[-1] >= stride:
            ranges.append((int(step[-1]) + 1, self.end))
        return tuple(ranges)

    def with_gaps_filled(self) -> Trace:
        """The trace with a value at every step ``0..end``: norms, lr and loss interpolated linearly in the step
        between logged steps, the first (last) finite value repeated before (after) them. Filling a sparse log's
        stride is the documented way to refine it (no warning); filling :attr:`gaps` warns once, naming them. A
        trace of every step from 0 is returned as it is."""
        gaps = self.gaps
        steps = np.arange(0, self.end + 1)
        if len(steps) == len(self.step):
            return self
        if gaps:
            where = f"trace {self.source}" if self.source else "the trace"
            missing = sum(last - first + 1 for first, last in gaps)
            warnings.warn(
                f"{where}: interpolated {missing} missing step(s): {format_ranges(gaps)}",
                RefinementWarning,
                stacklevel=2,
            )

        def fill(values: np.ndarray) -> np.ndarray:
            finite = np.isfinite(values)
            out = np.full(len(steps), np.nan)
            if finite.any():
                out[:] = np.interp(steps, self.step[finite], values[finite])  # constant beyond the ends
            out[self.step] = values  # a logged NaN stays NaN (refine drops it)
            return out

        return dataclasses.replace(
            self,
            step=steps,
            grad_l2=fill(self.grad_l2),
            grad_l1=fill(self.grad_l1),
            lr=fill(self.lr),
            loss=fill(self.loss),
        )

    @property
    def norm_kind(self) -> str:
        """ "l2" or "l1": the kind of the trace's first norm column."""
        return next(kind for kind, column in NORM_KINDS.items() if column == self.norm_columns[0])

    def norms(self, column: str) -> np.ndarray:
        """The norm column ``"grad_l2"`` or ``"grad_l1"``; ValueError if the file does not have it."""
        if column not in NORM_COLUMNS:
            raise ValueError(f"norm column {column!r} is not one of {', '.join(NORM_COLUMNS)}")
        if column not in self.norm_columns:
            where = f"trace {self.source}" if self.source else "the trace"
            raise ValueError(f"{where} has no {column} column (it has {', '.join(self.norm_columns)})")
        return getattr(self, column)


_LIGHTNING_NORM = re.compile(r"grad_(\d+(?:\.\d*)?)_norm_total")


def norm_kind_of(name: str) -> str | None:
    """The kind ("l2" or "l1") a norm column or tag's name says, else None.

    ``grad_l2``/``grad_l1`` (tuneless traces); ``grad_norm`` after any prefix (``train/grad_norm``): L2, the norm
    Trainer logs and ``torch.nn.utils.clip_grad_norm_`` returns by default; ``grad_2.0_norm_total`` /
    ``grad_1.0_norm_total``: Lightning's ``grad_norm(module, norm_type)``. A Lightning norm of another order
    (``grad_inf_norm_total``) is a ValueError: refinement weights by the L2 or the L1 norm."""
    base = name.strip().rsplit("/", 1)[-1]
    if base in ("grad_l2", "grad_norm"):
        return "l2"
    if base == "grad_l1":
        return "l1"
    match = _LIGHTNING_NORM.fullmatch(base) or re.fullmatch(r"grad_(inf)_norm_total", base)
    if match is None:
        return None
    order = match.group(1)
    if order != "inf" and float(order) in (1.0, 2.0):
        return "l1" if float(order) == 1.0 else "l2"
    raise ValueError(f"{name!r} is a norm of order {order}; refinement needs the L2 norm (sgd) or the L1 norm (adam)")


def _parse_float(text: str) -> float:
    text = text.strip()
    return float(text) if text else float("nan")


def csv_fields(path: Path, line_number: int, line: str) -> list[str]:
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


def read_tuneless_lines(path: Path, lines: list[str], header: list[str]) -> Trace:
    """The trace of a tuneless CSV trace's ``lines`` (``header``: its first line's fields), checked as the module
    docstring says."""
    index = {name: header.index(name) for name in ("step", *_VALUE_COLUMNS) if name in header}
    n_fields = len(header)

    steps: list[int] = []
    rows: list[list[float]] = []
    cut_lines: list[int] = []
    for line_number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = csv_fields(path, line_number, line)
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
