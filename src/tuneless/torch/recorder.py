"""``GradNormRecorder``: the gradient norms of every optimizer step, for schedule refinement.

Refinement (Defazio, Cutkosky, Mehta, Mishchenko 2023, arXiv 2310.07831, section 3) needs the norm of the gradient
the optimizer received at each step, before it touches it: the L2 norm for SGD-type optimizers, the L1 norm for
Adam-type ones. The recorder takes both, once per ``optimizer.step()``, from an optimizer step pre-hook:

* after ``backward()`` and after every micro-batch of gradient accumulation (one record per optimizer step);
* after ``GradScaler.unscale_`` (``scaler.step`` unscales before it calls ``optimizer.step``); a step the scaler
  skips for inf/NaN gradients calls no ``optimizer.step`` and so leaves no record;
* before the optimizer (or its weight decay) changes ``.grad`` in place.

No host synchronisation per step: the per-step norms stay on the gradients' device as small tensors, and are moved
to the host once per ``flush_every`` steps, when the rows are appended to the trace and the file is fsync'ed. A crash
loses at most the steps since the last flush; everything before it is readable (``tuneless.refine.read_trace``).

Distributed training:

* replicated gradients (DistributedDataParallel): the gradients are already averaged across ranks, so every rank
  would compute the same norm; only rank 0 computes and writes, the others do nothing;
* sharded gradients (FSDP, ZeRO: ``sharded=True``): each rank holds part of the gradient, so each computes its
  partial sum of squares and sum of absolute values, and one ``all_reduce`` per flush window (not per step) sums
  them across ranks before the square root. Every rank must then call ``flush``/``close`` (collectives).
  A DTensor gradient (FSDP2 ``fully_shard``) counts with its local shard. Every gradient entry must live on exactly
  one rank of ``process_group``: with replicas of the shards (HSDP), pass the shard group, not the world.

Precision: each norm is accumulated in at least float32 (a bfloat16 gradient's norm is not rounded to bfloat16) and
the partial sums are combined in float64.

Trace format: CSV, header ``step,grad_l2,grad_l1,lr[,lr_1,...],loss``; ``lr`` is param group 0's learning rate,
``lr_i`` group i's (only with several groups); ``loss`` is what ``log_loss`` was given for that step (empty if
nothing).

An existing trace (one rule for the recorder and every integration): a recorder's first step is ``start_step``
(default 0), and its first write replaces the file's rows from that step on: a fresh run over an old trace
replaces it, with a warning naming the steps it drops (never appending to another run's trace); a run resumed at
step ``s`` (``start_step=s``, as the integrations pass from their checkpoint) keeps the rows before ``s``.

Resuming from a checkpoint (docs/recorder.md, "Resuming"): save ``recorder.state_dict()`` with the checkpoint (the
next step number and the rows not yet written to the file) and call ``recorder.load_state_dict(state)`` on a fresh
recorder after loading the checkpoint. The trace is then cut back to the checkpoint (rows the crashed run wrote
after it are superseded, the rows it had not yet written are restored from the state), so it holds every step
exactly once, whatever the crash cost.
"""

from __future__ import annotations

import functools
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import torch

__all__ = ["GradNormRecorder"]


def _dist() -> Any:
    import torch.distributed as dist

    return dist if dist.is_available() and dist.is_initialized() else None


def partial_norm_sums(grads: Sequence[torch.Tensor]) -> torch.Tensor:
    """``[sum of squares, sum of absolute values]`` over all entries of ``grads`` (this rank's shard of a DTensor),
    as a float64 tensor of shape (2,) on the first gradient's device, with foreach kernels (one launch per device
    and dtype, no host sync); each tensor's norm is accumulated in its dtype promoted to at least float32."""
    groups: dict[tuple[torch.device, torch.dtype], list[torch.Tensor]] = {}
    for g in map(_local, grads):
        groups.setdefault((g.device, g.dtype), []).append(g)
    device = next(iter(groups))[0]
    total = torch.zeros(2, dtype=torch.float64, device=device)
    for (_, dtype), tensors in groups.items():
        accumulate = torch.promote_types(dtype, torch.float32)
        l2 = torch.stack(torch._foreach_norm(tensors, 2, dtype=accumulate)).to(device=device, dtype=torch.float64)
        l1 = torch.stack(torch._foreach_norm(tensors, 1, dtype=accumulate)).to(device=device, dtype=torch.float64)
        total += torch.stack([l2.square().sum(), l1.sum()])
    return total


def _local(grad: torch.Tensor) -> torch.Tensor:
    """This rank's part of a gradient: the local shard of a DTensor (FSDP2), the tensor itself otherwise."""
    return grad.to_local() if hasattr(grad, "to_local") else grad


class GradNormRecorder:
    """Records ``grad_l2``, ``grad_l1``, the lrs and the loss of every optimizer step into a CSV trace.

    Example::

        with GradNormRecorder(optimizer, "trace.csv") as recorder:
            for batch in data:
                loss = model(batch).mean()
                optimizer.zero_grad(); loss.backward()
                recorder.log_loss(loss)      # optional, before optimizer.step()
                optimizer.step(); scheduler.step()

    Args:
        optimizer: any ``torch.optim.Optimizer`` (the recorder registers a step pre-hook on it).
        path: the trace file; created with its header, or appended to.
        flush_every: steps between flushes (host transfer + append + fsync). Default 100.
        sharded: True when each rank holds only a shard of the gradient (FSDP, ZeRO).
        process_group: the group to reduce over with ``sharded=True`` (default: the world).
        start_step: the step number of the first record (default 0); rows of an existing trace from it on are
            replaced at the first write (with a warning when ``start_step`` is 0: the file held another run).
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        path: str | os.PathLike[str],
        flush_every: int = 100,
        *,
        sharded: bool = False,
        process_group: Any = None,
        start_step: int | None = None,
    ) -> None:
        if not isinstance(flush_every, int) or flush_every < 1:
            raise ValueError(f"flush_every={flush_every!r} must be an integer >= 1")
        if start_step is not None and (not isinstance(start_step, int) or start_step < 0):
            raise ValueError(f"start_step={start_step!r} must be an integer >= 0")
        self.optimizer = optimizer
        self.path = Path(path)
        self.flush_every = flush_every
        self.sharded = sharded
        self.process_group = process_group
        dist = _dist()
        self.rank = dist.get_rank(process_group) if dist is not None else 0
        self.is_writer = self.rank == 0
        # Replicated gradients: only the writer needs the norms. Sharded: every rank contributes its part.
        self._computes = self.is_writer or sharded
        self._sums: list[torch.Tensor] = []
        self._lrs: list[list[float]] = []
        self._losses: list[Any] = []
        self._rows: list[list[Any]] = []  # rows on the host, not yet in the file: [step, l2, l1, *lrs, loss]
        self._buffered = 0  # steps taken since the rows above started (every rank counts, computing or not)
        self._pending_loss: Any = None
        self._file: IO[str] | None = None
        self.steps_recorded = 0
        n_groups = len(optimizer.param_groups)
        self.columns = ["step", "grad_l2", "grad_l1", "lr", *[f"lr_{i}" for i in range(1, n_groups)], "loss"]
        self.next_step = 0 if start_step is None else start_step
        self._replace_from: int | None = None  # rows of the existing file from this step on go at the first write
        if self.is_writer:
            self._open(start_step)
        self._hook = optimizer.register_step_pre_hook(self._before_step)

    # -- file ----------------------------------------------------------------------------------------------------
    def _open(self, start_step: int | None) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        existing = self.path.stat().st_size if self.path.exists() else 0
        if existing:
            with open(self.path, encoding="utf-8", newline="") as f:
                header = f.readline().rstrip("\r\n")
            if header != ",".join(self.columns):
                raise ValueError(
                    f"trace {self.path}: its header {header!r} does not match this optimizer's columns "
                    f"{','.join(self.columns)!r} ({len(self.optimizer.param_groups)} param group(s)); "
                    "record into a new file"
                )
        if existing and _last_step(self.path) >= self.next_step:
            self._replace_from = self.next_step  # not yet: load_state_dict may still resume this trace
        self._file = open(self.path, "a", encoding="utf-8", newline="")  # noqa: SIM115 (closed in close())
        if existing and not _ends_with_newline(self.path):
            self._file.write("\n")  # a crash cut the last line: the reader reports it; our rows start clean
        if not existing:
            self._file.write(",".join(self.columns) + "\n")
            self._sync()

    def _sync(self) -> None:
        assert self._file is not None
        self._file.flush()
        os.fsync(self._file.fileno())

    # -- recording -----------------------------------------------------------------------------------------------
    def log_loss(self, loss: Any) -> None:
        """The loss of the coming optimizer step (a tensor stays on its device; call before ``optimizer.step()``).
        Under gradient accumulation, pass the step's loss once (e.g. the mean over micro-batches)."""
        self._pending_loss = loss.detach() if isinstance(loss, torch.Tensor) else float(loss)

    def _before_step(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        if self._computes:
            grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
            if grads:
                self._sums.append(partial_norm_sums(grads))
            else:  # no gradient on this rank at all: contributes zero (a shard may own nothing)
                device = next(p.device for group in optimizer.param_groups for p in group["params"])
                self._sums.append(torch.zeros(2, dtype=torch.float64, device=device))
            self._lrs.append([_lr(group["lr"]) for group in optimizer.param_groups])  # a tensor lr stays a tensor
            self._losses.append(self._pending_loss)
        self._pending_loss = None
        self._buffered += 1
        self.steps_recorded += 1
        if self.steps_recorded % self.flush_every == 0:
            self.flush()

    def _to_host(self) -> None:
        """Moves the buffered window to ``self._rows`` (one host transfer; with ``sharded=True`` one all_reduce of
        the whole window first, a collective)."""
        if not self._sums:
            return
        device = self._sums[0].device
        window = torch.stack([s.to(device) for s in self._sums])  # (steps, 2)
        if self.sharded and _dist() is not None:
            _dist().all_reduce(window, group=self.process_group)
        window = window.cpu()
        losses = _host_values(self._losses)
        first = self.next_step + len(self._rows)
        l2 = window[:, 0].clamp_min(0).sqrt().tolist()
        l1 = window[:, 1].tolist()
        self._rows.extend([first + i, l2[i], l1[i], *lrs, losses[i]] for i, lrs in enumerate(_host_lrs(self._lrs)))
        self._sums.clear()
        self._lrs.clear()
        self._losses.clear()

    def flush(self) -> None:
        """Moves the buffered norms to the host and appends their rows (with ``sharded=True``: one all_reduce of
        the whole window first, so every rank must call it; ``optimizer.step`` does so every ``flush_every``)."""
        self._to_host()
        if self.is_writer and self._file is not None and self._rows:
            if self._replace_from is not None:
                self._replace_rows()
            self._file.write("".join(map(_line, self._rows)))
            self._sync()
        self.next_step += self._buffered
        self._buffered = 0
        self._rows.clear()

    def _replace_rows(self) -> None:
        """Cuts the file's rows from ``_replace_from`` on (another run's, or the tail of a crashed run that this one
        resumes), before this run's first rows are written."""
        assert self._file is not None and self._replace_from is not None
        first, self._replace_from = self._replace_from, None
        self._file.close()
        old_last = _last_step(self.path)
        _cut_trace(self.path, first)
        if first == 0:
            warnings.warn(
                f"trace {self.path} held steps 0-{old_last} of an earlier run: replaced by this run's (a recorder "
                "starts at start_step, default 0; pass start_step=N or load_state_dict to continue a trace)",
                stacklevel=4,
            )
        self._file = open(self.path, "a", encoding="utf-8", newline="")  # noqa: SIM115 (closed in close())

    # -- checkpoints ---------------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """What a checkpoint must hold to resume the trace exactly: ``next_step`` (the step number of the next
        record) and ``rows`` (the records not yet written to the file, as plain Python numbers).

        Costs one host transfer of the unwritten window (with ``sharded=True`` one all_reduce: every rank must
        call it, as for ``flush``). Writes nothing to the file."""
        self._to_host()
        return {
            "version": 1,
            "next_step": self.next_step + self._buffered,
            "columns": list(self.columns),
            "rows": [list(row) for row in self._rows] if self.is_writer else [],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue the trace of a checkpoint: call it on a fresh recorder, right after loading the checkpoint and
        before the first ``optimizer.step()``.

        The file is cut back to the steps before the checkpoint's unwritten rows (rows that a crashed run wrote
        after the checkpoint are superseded; the cut is written to a temporary file and renamed over the trace,
        so a crash during it leaves the old trace), the checkpoint's unwritten rows are appended, and recording
        continues at ``state["next_step"]``. Every step is then in the trace exactly once."""
        if not isinstance(state, dict) or not {"next_step", "rows"} <= set(state):
            raise ValueError(f"load_state_dict: state must be a GradNormRecorder.state_dict(), got {state!r:.80}")
        next_step, rows = state["next_step"], state["rows"]
        if not isinstance(next_step, int) or next_step < 0:
            raise ValueError(f"load_state_dict: next_step={next_step!r} must be an integer >= 0")
        if list(state.get("columns", self.columns)) != self.columns:
            raise ValueError(
                f"load_state_dict: the checkpoint's columns {','.join(state['columns'])!r} do not match this "
                f"optimizer's {','.join(self.columns)!r}"
            )
        if self._buffered or self._sums:
            raise ValueError(
                "load_state_dict: this recorder has already recorded steps; call it before the first optimizer.step()"
            )
        first_unwritten = rows[0][0] if rows else next_step
        if rows and [row[0] for row in rows] != list(range(first_unwritten, next_step)):
            raise ValueError(f"load_state_dict: rows must be the steps {first_unwritten}..{next_step - 1} in order")
        self._replace_from = None  # the cut below is the resume's own
        if self.is_writer and self._file is not None:
            self._file.close()
            last = _cut_trace(self.path, first_unwritten)
            if last < first_unwritten - 1:
                warnings.warn(
                    f"trace {self.path} ends at step {last} but the checkpoint continues from step {first_unwritten}: "
                    f"steps {last + 1}-{first_unwritten - 1} are missing (read_trace reports the gap)",
                    stacklevel=2,
                )
            self._file = open(self.path, "a", encoding="utf-8", newline="")  # noqa: SIM115 (closed in close())
            if rows:
                self._file.write("".join(map(_line, rows)))
            self._sync()
        self.next_step = next_step

    def close(self) -> None:
        """Flushes what is left, detaches from the optimizer and closes the file (idempotent)."""
        if self._hook is None:
            return
        self.flush()
        self._hook.remove()
        self._hook = None
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> GradNormRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # best effort: keep what was recorded if the user forgot close()
        try:
            if self._hook is not None and not self.sharded:
                self.close()
        except Exception:
            pass


def _host_values(values: list[Any]) -> list[float | None]:
    """Python floats of a window's losses or lrs: the tensors among them go to the host in one transfer, in their
    common dtype (at least float32, so each value is exact)."""
    tensors = [v.reshape(()) for v in values if isinstance(v, torch.Tensor)]
    dtype = functools.reduce(torch.promote_types, (t.dtype for t in tensors), torch.float32)
    stacked = torch.stack([t.to(device=tensors[0].device, dtype=dtype) for t in tensors]) if tensors else None
    on_host = iter(stacked.cpu().tolist() if stacked is not None else [])
    return [next(on_host) if isinstance(v, torch.Tensor) else v for v in values]


def _line(row: Sequence[Any]) -> str:
    step, *values, loss = row
    return ",".join([str(step), *map(repr, values), "" if loss is None else repr(loss)]) + "\n"


def _cut_trace(path: Path, before: int) -> int:
    """Rewrites the trace at ``path`` keeping its header and its complete rows of steps ``< before`` (in file
    order), via a temporary file in the same folder and ``os.replace``; returns the last step kept (-1: none)."""
    with open(path, encoding="utf-8", newline="") as f:
        lines = f.read().splitlines(keepends=True)
    header, kept, last = lines[0], [], -1
    n_fields = header.count(",") + 1
    for line in lines[1:]:
        head = line.split(",", 1)[0].strip()
        if line.endswith("\n") and line.count(",") + 1 == n_fields and head.isdigit() and int(head) < before:
            kept.append(line)
            last = max(last, int(head))
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as f:
            f.write(header if header.endswith("\n") else header + "\n")
            f.write("".join(kept))
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return last


def _lr(value: Any) -> Any:
    """A group's lr as recorded at the step: a float, or a copy of a tensor lr (it is filled in place later), left
    on its device until the flush (reading it now would wait for the device every step)."""
    return value.detach().clone() if isinstance(value, torch.Tensor) else float(value)


def _host_lrs(rows: list[list[Any]]) -> list[list[float]]:
    """The window's lrs as floats: the tensor ones go to the host in one transfer (``_host_values``)."""
    flat = _host_values([lr for row in rows for lr in row])
    width = len(rows[0]) if rows else 0
    return [flat[i * width : (i + 1) * width] for i in range(len(rows))]


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


def _last_step(path: Path) -> int:
    """The step of the last complete row of an existing trace (-1 if it has none)."""
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - 65536))
        tail = f.read().decode("utf-8", errors="replace")
    for line in reversed(tail.splitlines()[:-1] if not tail.endswith("\n") else tail.splitlines()):
        head = line.split(",", 1)[0].strip()
        if head.isdigit():
            return int(head)
    return -1
