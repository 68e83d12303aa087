"""Opening the SQLite database: WAL journal, foreign keys, a busy timeout, migrations applied."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils

from storage.migrations import MIGRATIONS

DATABASE_FILE = "beatmatch.db"


def open_database(path: str | Path) -> sqlite_utils.Database:
    """Open (creating if needed) the database at ``path``, in WAL mode, with every migration applied.

    ``":memory:"`` gives a private in-memory database (tests). The connection may be used from
    worker threads; the Repository serialises access with a lock.
    """
    target = str(path)
    if target != ":memory:":
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(target, check_same_thread=False, timeout=30.0, isolation_level=None)
    db = sqlite_utils.Database(conn)
    if target != ":memory:":
        db.enable_wal()
        # synchronous=FULL: a reply that says "saved" means the row survives a power cut.
        conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 30000")
    MIGRATIONS.apply(db)
    return db
