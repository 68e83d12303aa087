"""Opening the SQLite database (WAL, foreign keys, a busy timeout, migrations applied) and the
stores that read and write it, one per kind of data."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from storage.access import Sqlite
from storage.account_store import AccountStore
from storage.meta_store import MetaStore
from storage.migrations import MIGRATIONS
from storage.taste_store import TasteStore
from storage.track_store import TrackStore
from storage.user_store import UserStore
from storage.workout_store import WorkoutStore

DATABASE_FILE = "beatmatch.db"


def open_database(path: str | Path) -> sqlite_utils.Database:
    """Open (creating if needed) the database at ``path``, in WAL mode, with every migration applied.

    ``":memory:"`` gives a private in-memory database (tests). The connection may be used from
    worker threads; the stores serialise writes with one lock, and read through connections of
    their own (``storage.access.Sqlite``).
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


@dataclass(frozen=True)
class Storage:
    """The database and its stores. Blocking calls: the bot runs them off the event loop; each
    store method is one transaction on the one writer connection, or reads on the thread's own."""

    sql: Sqlite
    users: UserStore
    tracks: TrackStore
    taste: TasteStore
    workouts: WorkoutStore
    accounts: AccountStore
    meta: MetaStore

    @classmethod
    def open(cls, path: str | Path) -> Storage:
        """Open the database file at ``path`` (migrated, WAL) with every store on it."""
        target = str(path)
        sql = Sqlite(open_database(target), None if target == ":memory:" else target)
        meta = MetaStore(sql)
        return cls(
            sql=sql,
            users=UserStore(sql),
            tracks=TrackStore(sql, meta),
            taste=TasteStore(sql),
            workouts=WorkoutStore(sql),
            accounts=AccountStore(sql),
            meta=meta,
        )

    def close(self) -> None:
        """Close the connection (a clean WAL checkpoint happens on close)."""
        self.sql.close()
