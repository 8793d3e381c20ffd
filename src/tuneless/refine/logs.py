"""Gradient norms from the logs a finished run already has: a Hugging Face ``trainer_state.json``, TensorBoard event
files, Lightning's CSVLogger ``metrics.csv``, any CSV with a step and a norm column (docs/refine.md, "I already
trained: refine from my logs"), and the tuneless trace: :func:`read_trace` reads them all. Each gives a
:class:`~tuneless.refine.Trace` whose steps are 0-based optimizer steps and whose norm sits in ``grad_l2`` or
``grad_l1`` by its kind.

Step conventions (each checked against a real run of the framework in tests/refine/test_logs.py):

* ``trainer_state.json``: ``log_history`` entries with ``grad_norm``; an entry's ``step`` is Trainer's
  ``global_step`` after the optimizer step it logs (1-based), so the entry of ``step`` k is optimizer step k - 1.
  ``grad_norm`` is the L2 norm of the whole gradient before clipping, of that one step (Trainer computes it every
  step and logs the latest every ``logging_steps``). ``global_step - 1`` is the run's last step.
* TensorBoard: a scalar's step is taken as written (``add_scalar(tag, value, global_step=t)`` with ``t`` the 0-based
  optimizer step). A Trainer's own TensorBoard log counts from 1: it reads as a trace with a missing first step and
  is refused; read the run's ``trainer_state.json`` instead.
* ``metrics.csv`` (Lightning) and other CSVs: the step column as written (Lightning's ``step`` of a metric logged in
  ``on_before_optimizer_step`` is the 0-based optimizer step ``trainer.global_step``).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ._warning import RefinementWarning
from .trace import NORM_COLUMNS, NORM_KINDS, Trace, csv_fields, norm_kind_of, read_tuneless_lines

__all__ = ["read_trace", "read_trainer_state", "read_tensorboard", "read_columns", "log_format_of", "event_files"]


def read_trace(
    path: str | Path,
    *,
    norm_column: str | None = None,
    step_column: str | None = None,
    norm_kind: str | None = None,
) -> Trace:
    """Reads a trace: a tuneless CSV trace (format and damage handling in ``tuneless.refine.trace``), a Trainer's
    ``trainer_state.json`` (or its checkpoint folder), TensorBoard event files (a file or a run's folder),
    Lightning's ``metrics.csv`` or another CSV (this module's docstring).

    ``norm_column``: the column or TensorBoard tag holding the norm (default: the one whose name says it is a
    gradient norm; an unknown name is a ValueError). ``step_column``: a CSV's step column (default ``step``).
    ``norm_kind``: "l2" or "l1", for a norm whose name does not say (a name that says the other is a ValueError).
    """
    path = Path(path)
    if norm_kind is not None and norm_kind not in NORM_KINDS:
        raise ValueError(f"norm_kind={norm_kind!r} must be one of {', '.join(NORM_KINDS)}")
    if path.exists() and not path.is_file() and not path.is_dir():
        raise ValueError(f"trace {path}: not a regular file (a device or a FIFO?), not a CSV file")
    log_format, path = log_format_of(path)
    if log_format != "csv" and step_column is not None:
        raise ValueError(f"trace {path}: --step-column is for a CSV file; a {log_format} log has its own steps")
    if log_format == "trainer_state":
        return read_trainer_state(path, norm_column, norm_kind)
    if log_format == "tensorboard":
        return read_tensorboard(path, norm_column, norm_kind)
    with path.open("rb") as f:
        data = f.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        kind = "UTF-16 text" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else "not UTF-8 text"
        raise ValueError(f"trace {path}: {kind} (byte {err.start}); save it as a UTF-8 CSV file") from None
    if "\x00" in text:
        raise ValueError(f"trace {path}: a binary file (it holds NUL bytes), not a CSV trace")
    lines = text.splitlines(keepends=True)
    if not lines or not lines[0].strip():
        raise ValueError(f"trace {path}: empty file (expected a header line 'step,grad_l2,grad_l1,lr,loss')")
    header = [name.strip() for name in csv_fields(path, 1, lines[0])]
    if (
        "step" in header
        and step_column in (None, "step")
        and norm_column in (None, *NORM_COLUMNS)
        and any(name in header for name in NORM_COLUMNS)
    ):
        trace = read_tuneless_lines(path, lines, header)
        if norm_column is not None:
            trace = dataclasses.replace(trace, norm_columns=(norm_column,)) if norm_column in header else trace
            trace.norms(norm_column)  # a column the file does not have: ValueError naming those it has
        if norm_kind is not None and trace.norm_kind != norm_kind:
            raise ValueError(
                f"trace {path}: its norm column {trace.norm_columns[0]} is an {trace.norm_kind.upper()} norm, "
                f"not {norm_kind.upper()}"
            )
        return trace
    return read_columns(path, text, step_column or "step", norm_column, norm_kind)


def event_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("events.out.tfevents.*") if p.is_file())


def log_format_of(path: Path) -> tuple[str, Path]:
    """("trainer_state" | "tensorboard" | "csv", the file or folder to read) for a file or a folder."""
    if path.is_dir():
        if (path / "trainer_state.json").is_file():
            return "trainer_state", path / "trainer_state.json"
        if event_files(path):
            return "tensorboard", path
        if (path / "metrics.csv").is_file():
            return "csv", path / "metrics.csv"
        raise ValueError(
            f"trace {path}: a folder with no trainer_state.json, TensorBoard event file (events.out.tfevents.*) or "
            "metrics.csv; give the trace file"
        )
    if path.name.startswith("events.out.tfevents"):
        return "tensorboard", path
    if path.suffix.lower() == ".json":
        return "trainer_state", path
    return "csv", path


def _kind(name: str, norm_kind: str | None, source: str) -> str:
    """The norm kind of column/tag ``name``: what its name says, else ``norm_kind``; a contradiction or neither is a
    ValueError."""
    said = norm_kind_of(name)
    if said is not None and norm_kind is not None and said != norm_kind:
        raise ValueError(f"{source}: {name!r} is an {said.upper()} norm by its name, not {norm_kind.upper()}")
    kind = said or norm_kind
    if kind is None:
        raise ValueError(
            f"{source}: cannot tell whether {name!r} is an L2 or an L1 norm: pass --norm-kind l2 or l1 "
            "(read_trace(..., norm_kind=...))"
        )
    return kind


def _trace(
    steps: list[int], norms: list[float], kind: str, source: str, log_format: str, name: str, **extra: Any
) -> Trace:
    """A Trace of (step, norm) records: the last record of a repeated step kept (with a warning), sorted by step."""
    if not steps:
        raise ValueError(f"{source}: no {name!r} value logged")
    step = np.asarray(steps, dtype=np.int64)
    if (step < 0).any():
        raise ValueError(f"{source}: step {int(step[step < 0][0])} is negative")
    unique, first_in_reversed = np.unique(step[::-1], return_index=True)
    repeated = len(step) - len(unique)
    if repeated:
        warnings.warn(
            f"{source}: {repeated} record(s) of {name!r} repeat an earlier step (a resumed run?); kept the last "
            "of each",
            RefinementWarning,
            stacklevel=4,
        )
    values = np.asarray(norms, dtype=float)[len(step) - 1 - first_in_reversed]
    missing = np.full(len(unique), np.nan)
    column = NORM_KINDS[kind]
    return Trace(
        step=unique,
        grad_l2=values if column == "grad_l2" else missing,
        grad_l1=values if column == "grad_l1" else missing.copy(),
        lr=missing.copy(),
        loss=missing.copy(),
        norm_columns=(column,),
        source=source,
        repeated_steps=repeated,
        log_format=log_format,
        norm_name=name,
        **extra,
    )


def read_trainer_state(path: Path, norm_column: str | None, norm_kind: str | None) -> Trace:
    """``grad_norm`` (or ``norm_column``) of a Trainer's ``log_history``; entry ``step`` k -> optimizer step k-1."""
    source = str(path)
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"trace {path}: not a JSON trainer state ({err})") from None
    history = state.get("log_history") if isinstance(state, dict) else None
    if not isinstance(history, list):
        raise ValueError(f"trace {path}: a JSON file without 'log_history' (not a Trainer's trainer_state.json)")
    name = norm_column or "grad_norm"
    kind = _kind(name, norm_kind, f"trace {path}")
    records = [e for e in history if isinstance(e, dict) and name in e and "step" in e]
    if not records:
        keys = sorted({k for e in history if isinstance(e, dict) for k in e})
        raise ValueError(f"trace {path}: no log_history entry has {name!r} (the keys logged: {', '.join(keys)})")
    steps, norms = [], []
    for entry in records:
        step, value = entry["step"], entry[name]
        if not isinstance(step, int) or step < 1:
            raise ValueError(f"trace {path}: log_history step {step!r} is not an integer >= 1")
        norms.append(float("nan") if value is None else float(value))
        steps.append(step - 1)
    global_step = state.get("global_step")
    last = global_step - 1 if isinstance(global_step, int) and global_step >= 1 else None
    return _trace(steps, norms, kind, source, "trainer_state", name, last_step=last)


def read_tensorboard(path: Path, norm_column: str | None, norm_kind: str | None) -> Trace:
    """The scalar ``norm_column`` (default: the one tag whose name says it is a gradient norm) of one run's event
    files (``path``: an event file or a folder holding one run's event files)."""
    from ..extras import require

    accumulator = require("tensorboard.backend.event_processing.event_accumulator", "reading TensorBoard logs")
    if path.is_dir():
        folders = sorted({str(p.parent) for p in event_files(path)})
        if len(folders) > 1:
            raise ValueError(
                f"trace {path}: TensorBoard event files of {len(folders)} runs ({', '.join(folders[:4])}"
                f"{', ...' if len(folders) > 4 else ''}); give one run's folder"
            )
        path = Path(folders[0])
    events = accumulator.EventAccumulator(str(path), size_guidance={accumulator.SCALARS: 0})
    try:
        events.Reload()
    except Exception as err:  # a damaged or foreign file: the reader's own exception types vary
        raise ValueError(f"trace {path}: cannot read TensorBoard events ({type(err).__name__}: {err})") from None
    tags = events.Tags().get("scalars", [])
    norm_column = _norm_name(tags, norm_column, f"trace {path}", "scalar tag", "TAG")
    kind = _kind(norm_column, norm_kind, f"trace {path}")
    scalars = events.Scalars(norm_column)
    return _trace([s.step for s in scalars], [s.value for s in scalars], kind, str(path), "tensorboard", norm_column)


def _norm_name(names: list[str], norm_column: str | None, where: str, what: str, metavar: str) -> str:
    """``norm_column`` if it is one of ``names``, else the one name that reads as a gradient norm; ``ValueError``
    (``where``: the file, ``what``: "column" or "scalar tag") when there is none or several."""
    listed = ", ".join(names) or "none"
    if norm_column is not None:
        if norm_column not in names:
            raise ValueError(f"{where}: no {what} {norm_column!r} ({what}s: {listed})")
        return norm_column
    candidates = [name for name in names if norm_kind_of(name) is not None]
    if len(candidates) != 1:
        noun = what.split()[-1]  # "tag", "column"
        found = f"{len(candidates)} {noun}s ({', '.join(candidates)})" if candidates else f"no {noun}"
        raise ValueError(
            f"{where}: {found} named like a gradient norm (grad_norm, grad_l2, grad_l1, grad_2.0_norm_total); "
            f"pass --norm-column {metavar} ({what}s: {listed})"
        )
    return candidates[0]


def read_columns(path: Path, text: str, step_column: str, norm_column: str | None, norm_kind: str | None) -> Trace:
    """A CSV with a step column and a norm column (Lightning's ``metrics.csv``, a spreadsheet export). A row with an
    empty norm field is a row of other metrics (Lightning writes one row per step and logged set) and is skipped."""
    rows = list(csv.reader(text.splitlines()))
    header = [name.strip() for name in rows[0]]
    if step_column not in header:
        raise ValueError(
            f"trace {path}, line 1: header {','.join(header)!r} needs a {step_column!r} column and a gradient-norm "
            "column (grad_l2, grad_l1, grad_norm; --step-column NAME / --norm-column NAME name others)"
        )
    norm_column = _norm_name(header, norm_column, f"trace {path}, line 1", "column", "NAME")
    kind = _kind(norm_column, norm_kind, f"trace {path}")
    at_step, at_norm = header.index(step_column), header.index(norm_column)
    steps, norms = [], []
    for line_number, fields in enumerate(rows[1:], start=2):
        if not fields or len(fields) <= max(at_step, at_norm) or not fields[at_norm].strip():
            continue
        step_text, norm_text = fields[at_step].strip(), fields[at_norm].strip()
        try:
            step_value = float(step_text)
            norm = float(norm_text)
        except ValueError:
            raise ValueError(
                f"trace {path}, line {line_number}: {step_column}={step_text!r}, {norm_column}={norm_text!r} "
                "are not numbers"
            ) from None
        if not math.isfinite(step_value) or step_value != int(step_value):
            raise ValueError(f"trace {path}, line {line_number}: step {step_text!r} is not an integer")
        steps.append(int(step_value))
        norms.append(norm)
    log_format = "lightning" if path.name == "metrics.csv" and "epoch" in header else "csv"
    return _trace(steps, norms, kind, str(path), log_format, norm_column)
