"""SQLite's failures said as what they mean for the user of a store."""

from __future__ import annotations

import sqlite3

__all__ = ["describe_sqlite_error"]


def describe_sqlite_error(err: sqlite3.Error, exists: bool) -> str:
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
