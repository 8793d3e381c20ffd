"""The benchmark store: one SQLite file (WAL mode) with tables ``runs``, ``trials`` and ``measurements``
(``schema``).

Every trial process opens its own connection and writes its rows as it goes, one short transaction per row, so a
``kill -9`` loses at most the row being written. WAL mode lets the trial processes write while the driver reads;
``busy_timeout`` makes concurrent writers wait instead of failing. The schema is the contract with scoring and
the report: they only read it.

Opening checks that the file is a tuneless store (``PRAGMA user_version`` at most :data:`SCHEMA_VERSION` and its
three tables; a file from before the version was written, version 0 with the tables, is accepted), makes an older
store current (``schema.migrate``: in place when opened for writing, in an in-memory copy when read-only), and
turns every SQLite or OS failure (not SQLite, corrupt, truncated, read-only, a device or a FIFO) into one
``ValueError`` line naming the file. ``read_only=True`` opens without writing anything (a read-only URI; an
archived store on a read-only file system or folder is opened as immutable), for export and tables. Reads give
typed rows (``rows``: ``RunRow``, ``Trial``, ``Measurement``). Claims of trials by drivers: ``claims``; CSV
export: ``export``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import time
import urllib.parse
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .claims import TrialClaims
from .errors import describe_sqlite_error
from .rows import Measurement, RunRow, StoreRow, Trial, TrialFinish, TrialStart
from .run_config import BenchConfig
from .schema import MEASUREMENT_COLUMNS, SCHEMA, SCHEMA_VERSION, TABLES, TRIAL_COLUMNS, migrate

__all__ = ["SCHEMA", "SCHEMA_VERSION", "Store", "TABLES"]


class Store:
    """A benchmark store at ``path`` (created with its tables if missing, unless ``read_only``).

    Open one ``Store`` per process; never share a connection across ``fork``.
    """

    def __init__(self, path: str | Path, busy_timeout_s: float = 120.0, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
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
            self.connection.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
            self._check_schema()
            if read_only:
                self.connection = _current_copy(self.connection)
            else:
                self.connection.execute("PRAGMA journal_mode = WAL")
                self.connection.execute("PRAGMA synchronous = NORMAL")
                migrate(self.connection)
            self.connection.row_factory = sqlite3.Row
            self._claims = TrialClaims(self.connection, self.path)
        except sqlite3.Error as err:
            if hasattr(self, "connection"):
                self.connection.close()
            raise ValueError(f"{where}: {describe_sqlite_error(err, exists)}") from None
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
        if missing:
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
            raise ValueError(f"store {str(self.path)!r}: {describe_sqlite_error(err, True)}") from None

    def close(self) -> None:
        self._claims.release()
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
    def create_run(self, run_id: str, config: BenchConfig) -> None:
        self._execute(
            "INSERT INTO runs (run_id, created, suite, config) VALUES (?, ?, ?, ?)",
            (run_id, time.time(), config.suite, _config_json(config)),
        )

    def run(self, run_id: str) -> RunRow:
        row = next(iter(self._execute("SELECT * FROM runs WHERE run_id = ?", (run_id,))), None)
        if row is None:
            known = [r["run_id"] for r in self._execute("SELECT run_id FROM runs ORDER BY created")]
            raise ValueError(f"run_id {run_id!r} is not in the store {str(self.path)!r}; runs there: {known}")
        try:
            config = BenchConfig(**json.loads(row["config"]))
        except (TypeError, ValueError) as err:
            raise ValueError(f"store {str(self.path)!r}: run {run_id}'s config cannot be read: {err}") from None
        return RunRow(row["run_id"], row["created"], row["suite"], config)

    def update_run_config(self, run_id: str, config: BenchConfig) -> None:
        """Replace a run's stored config."""
        self.run(run_id)  # a ValueError naming the store's runs when it is not there
        self._execute("UPDATE runs SET config = ? WHERE run_id = ?", (_config_json(config), run_id))

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

    def trials(self, run_id: str) -> list[Trial]:
        """The run's trials, in the order they were first started."""
        rows = self._execute("SELECT * FROM trials WHERE run_id = ? ORDER BY rowid", (run_id,))
        return [Trial.from_columns(r) for r in rows]

    def trial(self, trial_id: str) -> Trial | None:
        row = next(iter(self._execute("SELECT * FROM trials WHERE trial_id = ?", (trial_id,))), None)
        return None if row is None else Trial.from_columns(row)

    # measurements -----------------------------------------------------------------------------------------------
    def add_measurement(self, row: Mapping[str, Any]) -> None:
        """One evaluation of a trial; a rerun of an interrupted trial replaces the row of the same step."""
        values = [row.get(c) for c in MEASUREMENT_COLUMNS]
        extra = row.get("extra")
        values[-1] = None if extra is None else json.dumps(extra, sort_keys=True)
        self._execute(
            f"INSERT OR REPLACE INTO measurements ({', '.join(MEASUREMENT_COLUMNS)}) VALUES "
            f"({', '.join('?' for _ in MEASUREMENT_COLUMNS)})",
            values,
        )

    def measurements(self, trial_id: str) -> list[Measurement]:
        """The trial's evaluations, by step."""
        rows = self._execute("SELECT * FROM measurements WHERE trial_id = ? ORDER BY step", (trial_id,))
        return [Measurement(**{**r, "extra": None if r["extra"] is None else json.loads(r["extra"])}) for r in rows]

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
        """Claims ``trial_id`` for this driver (``claims.TrialClaims.claim``)."""
        return self._claims.claim(trial_id)

    # export -----------------------------------------------------------------------------------------------------
    def export_csv(self, table: str, path: str | Path, run_id: str | None = None) -> int:
        """Write ``table`` (optionally one run's rows) to a CSV file (``"-"``: standard output; ``export.export_csv``);
        returns the number of rows written. An unknown table or ``run_id`` is a ``ValueError``."""
        from .export import export_csv

        if table not in TABLES:
            raise ValueError(f"table={table!r} is not a table of the store; choose one of {list(TABLES)}")
        if run_id is not None:
            self.run(run_id)  # raises, naming the runs there
        return export_csv(self.connection, self.path, table, path, run_id)


def _config_json(config: BenchConfig) -> str:
    return json.dumps(config.to_dict(), sort_keys=True)


def _current_copy(connection: sqlite3.Connection) -> sqlite3.Connection:
    """``connection`` (read-only) if its store is current, else an in-memory copy of the store made current
    (``schema.migrate``): what an older store reads as, without writing to it."""
    if connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
        return connection
    copy = sqlite3.connect(":memory:", isolation_level=None)
    connection.backup(copy)
    connection.close()
    migrate(copy)
    copy.execute("PRAGMA query_only = ON")  # read-only as the store is: a write fails, it never vanishes unseen
    return copy
