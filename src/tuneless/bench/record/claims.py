"""Claims: two drivers resuming one run must not run the same trial.

A driver claims a trial in an ``IMMEDIATE`` transaction (table ``claims``: driver id, host, pid, heartbeat) before
running it; a claim held by another driver is respected while that driver lives (same host: its pid exists; any
host: its heartbeat, refreshed every :data:`HEARTBEAT_S` seconds by a thread, is younger than
:data:`STALE_AFTER_S`). A claim of a dead driver is taken over.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
import time
from pathlib import Path

from .errors import describe_sqlite_error

__all__ = ["HEARTBEAT_S", "STALE_AFTER_S", "TrialClaims"]

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


class TrialClaims:
    """The claims of one driver (one open ``Store``: its connection and path) and the heartbeat thread that keeps
    them alive."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self.connection, self.path = connection, path
        self.driver_id = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}:{time.time():.6f}"
        self._heartbeat: threading.Thread | None = None
        self._stop_heartbeat = threading.Event()

    def claim(self, trial_id: str) -> bool:
        """Claims ``trial_id`` for this driver in one ``IMMEDIATE`` transaction: False when it is finished (done or
        failed) or claimed by another driver that is alive; True (the claim is this driver's) otherwise."""
        now = time.time()
        connection = self.connection
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                trial = connection.execute("SELECT status FROM trials WHERE trial_id = ?", (trial_id,)).fetchone()
                claim = connection.execute("SELECT * FROM claims WHERE trial_id = ?", (trial_id,)).fetchone()
                if (trial is not None and trial["status"] in ("done", "failed")) or (
                    claim is not None and claim["driver"] != self.driver_id and _alive(claim, now)
                ):
                    connection.execute("ROLLBACK")
                    return False
                connection.execute(
                    "INSERT OR REPLACE INTO claims (trial_id, driver, host, pid, heartbeat) VALUES (?, ?, ?, ?, ?)",
                    (trial_id, self.driver_id, socket.gethostname(), os.getpid(), now),
                )
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
        except sqlite3.Error as err:
            raise ValueError(f"store {str(self.path)!r}: {describe_sqlite_error(err, True)}") from None
        self._start_heartbeat()
        return True

    def release(self) -> None:
        """Stop the heartbeat and drop this driver's claims (they would go stale by themselves)."""
        if self._heartbeat is None:
            return
        self._stop_heartbeat.set()
        self._heartbeat.join()
        self._heartbeat = None
        try:
            self.connection.execute("DELETE FROM claims WHERE driver = ?", (self.driver_id,))
        except sqlite3.Error:
            pass  # the claims go stale by themselves

    def _start_heartbeat(self) -> None:
        if self._heartbeat is not None:
            return
        path, driver_id, stop = self.path, self.driver_id, self._stop_heartbeat

        def beat() -> None:
            with _HEARTBEAT_LOCK:
                connection = sqlite3.connect(path, timeout=5, isolation_level=None)
            try:
                while not stop.wait(HEARTBEAT_S):
                    try:
                        with _HEARTBEAT_LOCK:
                            connection.execute(
                                "UPDATE claims SET heartbeat = ? WHERE driver = ?", (time.time(), driver_id)
                            )
                    except sqlite3.Error:
                        pass  # busy or gone: the next beat tries again
            finally:
                with _HEARTBEAT_LOCK:
                    connection.close()

        self._heartbeat = threading.Thread(target=beat, name="tuneless-store-heartbeat", daemon=True)
        self._heartbeat.start()


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
