"""Does the database answer? A readiness probe on a connection of its own (the bot's connections
stay untouched): the file must exist, be readable, and take the write lock within ``timeout``
(another process holding a write transaction — a stuck import, an operator's open ``sqlite3``
shell — makes every write of the bot fail with "database is locked")."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def database_answers(path: str | Path, timeout: float = 1.0) -> int:
    """The number of tables, read on a fresh connection that also takes and drops the write lock;
    ``sqlite3.Error`` when the file is missing, unreadable or locked for longer than ``timeout``."""
    uri = f"{Path(path).resolve().as_uri()}?mode=rw"  # never creates a missing file
    conn = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)
    try:
        (tables,) = conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
        ).fetchone()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return int(tables)
    finally:
        conn.close()
