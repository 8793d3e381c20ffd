"""The benchmark store: one SQLite file (WAL mode) with tables ``runs``, ``trials`` and ``measurements``.

Every trial process opens its own connection and writes its rows as it goes, one short transaction per row, so a
``kill -9`` loses at most the row being written. WAL mode lets the trial processes write while the driver reads;
``busy_timeout`` makes concurrent writers wait instead of failing. The schema is the contract with scoring and
the report: they only read it.

Opening checks that the file is a tuneless store (``PRAGMA user_version`` = :data:`SCHEMA_VERSION` and its three
tables; a file from before the version was written, version 0 with the tables, is accepted) and turns every
SQLite or OS failure (not SQLite, corrupt, truncated, read-only, a device or a FIFO) into one ``ValueError`` line
naming the file. ``read_only=True`` opens without writing anything (a read-only URI; an archived store on a
read-only file system or folder is opened as immutable), for export and tables.

Claims: two drivers resuming one run must not run the same trial. A driver claims a trial in an ``IMMEDIATE``
transaction (table ``claims``: driver id, host, pid, heartbeat) before running it; a claim held by another driver
is respected while that driver lives (same host: its pid exists; any host: its heartbeat, refreshed every
:data:`HEARTBEAT_S` seconds, is younger than :data:`STALE_AFTER_S`). A claim of a dead driver is taken over.
"""

from __future__ import annotations

import csv
import json
import os
import socket
import sqlite3
import stat
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .rows import Measurement, StoreRow, TrialFinish, TrialStart

__all__ = ["SCHEMA", "SCHEMA_VERSION", "Store", "TABLES"]

#: ``PRAGMA user_version`` of a tuneless store (0: a store written before the version existed).
SCHEMA_VERSION = 1
HEARTBEAT_S = 10.0
STALE_AFTER_S = 60.0

# The heartbeat thread holds this lock while it is inside SQLite; a fork (the local executor's trial processes)
# waits for it, so a child never inherits SQLite in the middle of a call from another thread.
_HEARTBEAT_LOCK = threading.Lock()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_HEARTBEAT_LOCK.acquire,
        after_in_parent=_HEARTBEAT_LOCK.release,
        after_in_child=_HEARTBEAT_LOCK.release,
    )

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (run_id TEXT PRIMARY KEY, created REAL, suite TEXT, config TEXT);
CREATE TABLE IF NOT EXISTS trials (
  trial_id TEXT PRIMARY KEY,
  run_id TEXT, workload TEXT, method TEXT, peak_lr REAL, seed INTEGER,
  schedule TEXT, optimizer TEXT,
  status TEXT, error TEXT,
  metric_name TEXT, higher_is_better INTEGER, target REAL, budget_steps INTEGER,
  steps_to_target INTEGER, seconds_to_target REAL, final_metric REAL, train_seconds REAL,
  prior_trial_id TEXT, prior_seconds REAL DEFAULT 0, prior_steps INTEGER DEFAULT 0,
  started REAL, finished REAL, train_cpu_seconds REAL, cpu_seconds_to_target REAL);
CREATE TABLE IF NOT EXISTS measurements (
  trial_id TEXT, step INTEGER, train_seconds REAL, train_loss REAL, metric REAL, lr REAL, extra TEXT,
  PRIMARY KEY (trial_id, step));
CREATE INDEX IF NOT EXISTS trials_by_run ON trials (run_id);
CREATE TABLE IF NOT EXISTS claims (trial_id TEXT PRIMARY KEY, driver TEXT, host TEXT, pid INTEGER, heartbeat REAL);
"""

TABLES = ("runs", "trials", "measurements")
TRIAL_COLUMNS = (
    "trial_id run_id workload method peak_lr seed schedule optimizer status error metric_name higher_is_better "
    "target budget_steps steps_to_target seconds_to_target final_metric train_seconds prior_trial_id prior_seconds "
    "prior_steps started finished train_cpu_seconds cpu_seconds_to_target"
).split()
ADDED_TRIAL_COLUMNS = {"train_cpu_seconds": "REAL", "cpu_seconds_to_target": "REAL"}  # added to older stores
MEASUREMENT_COLUMNS = ("trial_id", "step", "train_seconds", "train_loss", "metric", "lr", "extra")


class Store:
    """A benchmark store at ``path`` (created with its tables if missing, unless ``read_only``).

    Open one ``Store`` per process; never share a connection across ``fork``.
    """

    def __init__(self, path: str | Path, busy_timeout_s: float = 120.0, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self.driver_id = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}:{time.time():.6f}"
        self._heartbeat: threading.Thread | None = None
        self._stop_heartbeat = threading.Event()
        where = f"store {str(self.path)!r}"
        if self.path.is_dir():
            raise ValueError(f"{where} is a directory: give a file path such as bench.sqlite")
        exists = self.path.exists()
        if exists and not stat.S_ISREG(self.path.stat().st_mode):
            raise ValueError(f"{where} is not a regular file (a device or a FIFO?): give a file such as bench.sqlite")
        if read_only and not exists:
            raise ValueError(f"{where}: no such file")
        try:
            if read_only:
                self.connection = self._connect_read_only(busy_timeout_s)
            else:
                if not exists:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                self.connection = sqlite3.connect(self.path, timeout=busy_timeout_s, isolation_level=None)
            self.connection.row_factory = sqlite3.Row
            self.connection.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
            self._check_schema()
            if not read_only:
                self.connection.execute("PRAGMA journal_mode = WAL")
                self.connection.execute("PRAGMA synchronous = NORMAL")
                self.connection.executescript(SCHEMA)
                present = {row["name"] for row in self.connection.execute("PRAGMA table_info(trials)")}
                for column, kind in ADDED_TRIAL_COLUMNS.items():
                    if column not in present:  # a store written before the column existed: its trials read NULL
                        self.connection.execute(f"ALTER TABLE trials ADD COLUMN {column} {kind}")
                if self.connection.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                    self.connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.Error as err:
            if hasattr(self, "connection"):
                self.connection.close()
            raise ValueError(f"{where}: {_describe(err, exists)}") from None
        except OSError as err:
            raise ValueError(f"{where}: {err.strerror or err}") from None

    def _connect_read_only(self, busy_timeout_s: float) -> sqlite3.Connection:
        """``mode=ro``; where SQLite cannot even create its lock files (a read-only folder or file system holding a
        WAL store), ``immutable=1``: the file is then read as it is, which is right for an archived store."""
        uri = "file:" + urllib.parse.quote(str(self.path.resolve()))
        connection = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=busy_timeout_s, isolation_level=None)
        try:
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return connection
        except sqlite3.OperationalError:
            connection.close()
            if os.access(self.path.parent, os.W_OK) and os.access(self.path, os.W_OK):
                raise
        return sqlite3.connect(f"{uri}?immutable=1", uri=True, timeout=busy_timeout_s, isolation_level=None)

    def _check_schema(self) -> None:
        """The file is empty (a new store, unless read-only) or a tuneless store: its version and tables."""
        version = self.connection.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in self.connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        where = f"store {str(self.path)!r}"
        if not tables and version == 0:
            if self.read_only:
                raise ValueError(f"{where}: an empty file, not a tuneless store (no run was ever stored in it)")
            return
        if version > SCHEMA_VERSION:
            raise ValueError(
                f"{where}: store version {version} is newer than this tuneless reads ({SCHEMA_VERSION}); "
                "upgrade tuneless"
            )
        missing = [t for t in TABLES if t not in tables]
        if version not in (0, SCHEMA_VERSION) or missing:
            shown = ", ".join(sorted(tables)[:5]) or "none"
            raise ValueError(
                f"{where}: not a tuneless store (SQLite file with version {version} and tables {shown}; "
                f"missing {', '.join(missing) or 'nothing'}): give another store file"
            )

    def _execute(self, query: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        """Runs ``query`` and fetches every row; an SQLite failure becomes one ``ValueError`` naming the store."""
        try:
            return self.connection.execute(query, tuple(params)).fetchall()
        except sqlite3.Error as err:
            raise ValueError(f"store {str(self.path)!r}: {_describe(err, True)}") from None

    def close(self) -> None:
        if self._heartbeat is not None:
            self._stop_heartbeat.set()
            self._heartbeat.join()
            self._heartbeat = None
            try:
                self._execute("DELETE FROM claims WHERE driver = ?", (self.driver_id,))
            except ValueError:
                pass  # the claims go stale by themselves
        if not self.read_only:
            # The last connection leaves the store in rollback-journal mode: one self-contained file, which a
            # read-only opening (export, tables, an archived copy) reads without creating -wal/-shm files. While
            # other connections are open this fails at once (busy timeout 0) and the store stays in WAL mode.
            try:
                self.connection.execute("PRAGMA busy_timeout = 0")
                self.connection.execute("PRAGMA journal_mode = DELETE").fetchall()
            except sqlite3.Error:
                pass
        self.connection.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # runs -------------------------------------------------------------------------------------------------------
    def create_run(self, run_id: str, suite: str, config: Mapping[str, Any]) -> None:
        self._execute(
            "INSERT INTO runs (run_id, created, suite, config) VALUES (?, ?, ?, ?)",
            (run_id, time.time(), suite, json.dumps(config, sort_keys=True)),
        )

    def run(self, run_id: str) -> dict[str, Any]:
        row = next(iter(self._execute("SELECT * FROM runs WHERE run_id = ?", (run_id,))), None)
        if row is None:
            known = [r["run_id"] for r in self._execute("SELECT run_id FROM runs ORDER BY created")]
            raise ValueError(f"run_id {run_id!r} is not in the store {str(self.path)!r}; runs there: {known}")
        out = dict(row)
        out["config"] = json.loads(out["config"])
        return out

    def update_run_config(self, run_id: str, config: Mapping[str, Any]) -> None:
        """Replace a run's stored config (e.g. to record what a run stored by an older version resumed with)."""
        self.run(run_id)  # a ValueError naming the store's runs when it is not there
        self._execute("UPDATE runs SET config = ? WHERE run_id = ?", (json.dumps(config, sort_keys=True), run_id))

    def latest_run_id(self) -> str:
        row = next(iter(self._execute("SELECT run_id FROM runs ORDER BY created DESC LIMIT 1")), None)
        if row is None:
            raise ValueError(f"the store {str(self.path)!r} has no run to resume")
        return row["run_id"]

    # trials -----------------------------------------------------------------------------------------------------
    def start_trial(self, row: Mapping[str, Any]) -> None:
        """Insert (or, for an interrupted trial being rerun, replace) the trial's row with status 'running'."""
        values = {c: row.get(c) for c in TRIAL_COLUMNS}
        values["status"] = "running"
        values["started"] = values["started"] or time.time()
        cols = ", ".join(TRIAL_COLUMNS)
        marks = ", ".join("?" for _ in TRIAL_COLUMNS)
        self._execute(f"INSERT OR REPLACE INTO trials ({cols}) VALUES ({marks})", [values[c] for c in TRIAL_COLUMNS])

    def finish_trial(self, trial_id: str, **fields: Any) -> None:
        """Set the result fields (status, error, steps_to_target, ...) and ``finished`` of a trial."""
        unknown = set(fields) - set(TRIAL_COLUMNS)
        if unknown:
            raise ValueError(f"finish_trial: unknown trial columns {sorted(unknown)}")
        fields.setdefault("finished", time.time())
        assignments = ", ".join(f"{k} = ?" for k in fields)
        self._execute(f"UPDATE trials SET {assignments} WHERE trial_id = ?", [*fields.values(), trial_id])

    def trials(self, run_id: str) -> list[dict[str, Any]]:
        rows = self._execute("SELECT * FROM trials WHERE run_id = ? ORDER BY rowid", (run_id,))
        return [dict(r) for r in rows]

    def trial(self, trial_id: str) -> dict[str, Any] | None:
        row = next(iter(self._execute("SELECT * FROM trials WHERE trial_id = ?", (trial_id,))), None)
        return None if row is None else dict(row)

    # measurements -----------------------------------------------------------------------------------------------
    def add_measurement(self, row: Mapping[str, Any]) -> None:
        """One evaluation of a trial; a rerun of an interrupted trial replaces the row of the same step."""
        values = [row.get(c) for c in MEASUREMENT_COLUMNS]
        extra = row.get("extra")
        values[-1] = None if extra is None else json.dumps(extra, sort_keys=True)
        self._execute(
            f"INSERT OR REPLACE INTO measurements ({', '.join(MEASUREMENT_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            values,
        )

    def measurements(self, trial_id: str) -> list[dict[str, Any]]:
        rows = self._execute("SELECT * FROM measurements WHERE trial_id = ? ORDER BY step", (trial_id,))
        out = [dict(r) for r in rows]
        for row in out:
            row["extra"] = None if row["extra"] is None else json.loads(row["extra"])
        return out

    def write_rows(self, rows: Iterable[StoreRow]) -> None:
        """Replay the rows a remote trial returned (see ``runner.run_trial``) into this store."""
        for row in rows:
            if isinstance(row, TrialStart):
                self.start_trial(row.columns())
            elif isinstance(row, Measurement):
                self.add_measurement(row.columns())
            elif isinstance(row, TrialFinish):
                self.finish_trial(row.trial_id, **row.result_columns())
            else:
                raise TypeError(f"cannot write {row!r}: expected a TrialStart, Measurement or TrialFinish row")

    # claims -----------------------------------------------------------------------------------------------------
    def claim_trial(self, trial_id: str) -> bool:
        """Claims ``trial_id`` for this driver in one ``IMMEDIATE`` transaction: False when it is finished (done or
        failed) or claimed by another driver that is alive; True (the claim is this driver's) otherwise."""
        now = time.time()
        try:
            self.connection.execute("BEGIN IMMEDIATE")
            try:
                trial = self.connection.execute("SELECT status FROM trials WHERE trial_id = ?", (trial_id,)).fetchone()
                claim = self.connection.execute("SELECT * FROM claims WHERE trial_id = ?", (trial_id,)).fetchone()
                if (trial is not None and trial["status"] in ("done", "failed")) or (
                    claim is not None and claim["driver"] != self.driver_id and _alive(claim, now)
                ):
                    self.connection.execute("ROLLBACK")
                    return False
                self.connection.execute(
                    "INSERT OR REPLACE INTO claims (trial_id, driver, host, pid, heartbeat) VALUES (?, ?, ?, ?, ?)",
                    (trial_id, self.driver_id, socket.gethostname(), os.getpid(), now),
                )
                self.connection.execute("COMMIT")
            except BaseException:
                if self.connection.in_transaction:
                    self.connection.execute("ROLLBACK")
                raise
        except sqlite3.Error as err:
            raise ValueError(f"store {str(self.path)!r}: {_describe(err, True)}") from None
        self._start_heartbeat()
        return True

    def _start_heartbeat(self) -> None:
        if self._heartbeat is not None:
            return

        def beat() -> None:
            with _HEARTBEAT_LOCK:
                connection = sqlite3.connect(self.path, timeout=5, isolation_level=None)
            try:
                while not self._stop_heartbeat.wait(HEARTBEAT_S):
                    try:
                        with _HEARTBEAT_LOCK:
                            connection.execute(
                                "UPDATE claims SET heartbeat = ? WHERE driver = ?", (time.time(), self.driver_id)
                            )
                    except sqlite3.Error:
                        pass  # busy or gone: the next beat tries again
            finally:
                with _HEARTBEAT_LOCK:
                    connection.close()

        self._heartbeat = threading.Thread(target=beat, name="tuneless-store-heartbeat", daemon=True)
        self._heartbeat.start()

    # export -----------------------------------------------------------------------------------------------------
    def export_csv(self, table: str, path: str | Path, run_id: str | None = None) -> int:
        """Write ``table`` (optionally one run's rows) to a CSV file (``"-"``: standard output), atomically (a
        temporary file renamed into place); returns the number of rows written. An unknown ``run_id`` is a
        ``ValueError``."""
        from ..output_files import atomic_path

        if table not in TABLES:
            raise ValueError(f"table={table!r} is not a table of the store; choose one of {list(TABLES)}")
        if run_id is not None:
            self.run(run_id)  # raises, naming the runs there
        order = {"runs": "created", "trials": "rowid", "measurements": "trial_id, step"}[table]
        if run_id is None:
            query, params = f"SELECT * FROM {table} ORDER BY {order}", ()
        elif table == "measurements":
            query = "SELECT * FROM measurements WHERE trial_id IN (SELECT trial_id FROM trials WHERE run_id = ?)"
            query, params = f"{query} ORDER BY {order}", (run_id,)
        else:
            query, params = f"SELECT * FROM {table} WHERE run_id = ? ORDER BY {order}", (run_id,)
        try:
            cursor = self.connection.execute(query, params)
            columns = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
        except sqlite3.Error as err:
            raise ValueError(f"store {str(self.path)!r}: {_describe(err, True)}") from None
        if str(path) == "-":
            _write_csv(sys.stdout, columns, rows)
            sys.stdout.flush()
            return len(rows)
        with atomic_path(path) as temporary, temporary.open("w", newline="") as handle:
            _write_csv(handle, columns, rows)
        return len(rows)


def _write_csv(handle: Any, columns: list[str], rows: list[sqlite3.Row]) -> None:
    writer = csv.writer(handle)
    writer.writerow(columns)
    writer.writerows(list(row) for row in rows)


def _alive(claim: sqlite3.Row, now: float) -> bool:
    """A claim's driver lives: its heartbeat is fresh and, on this host, its process exists."""
    if now - (claim["heartbeat"] or 0.0) > STALE_AFTER_S:
        return False
    if claim["host"] == socket.gethostname():
        try:
            os.kill(int(claim["pid"]), 0)
        except ProcessLookupError:
            return False
        except (PermissionError, OSError):
            return True
    return True


def _describe(err: sqlite3.Error, exists: bool) -> str:
    """SQLite's message, said as what it means for the user."""
    text = str(err)
    if "file is not a database" in text:
        return "not an SQLite file (or its header is damaged): give a tuneless store such as bench.sqlite"
    if "malformed" in text or "disk image" in text:
        return f"the store is damaged ({text}); restore it from a copy or start a new store"
    if "readonly" in text or "read-only" in text:
        return f"cannot write to it ({text}): it, its folder or its file system is read-only"
    if "unable to open" in text:
        return f"cannot open it ({text}): {'check its permissions' if exists else 'check that its folder exists'}"
    if "locked" in text or "busy" in text:
        return f"{text}: another process holds the store; try again when it is done"
    return text
