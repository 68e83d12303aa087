"""Opening the SQLite database (WAL, foreign keys, a busy timeout, migrations applied) and the
stores that read and write it, one per kind of data.

The data directory holds listeners' libraries, tokens and models: it is for beatmatch's own user
only (0700, its files 0600). ``beatmatch`` sets its umask to 0o077 so everything it writes is
created so; opening the database tightens what an older version left readable.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from storage.access import Sqlite
from storage.account_store import AccountStore
from storage.blend_store import BlendStore
from storage.meta_store import MetaStore
from storage.migrations import MIGRATIONS
from storage.shown_list_store import ShownListStore
from storage.shown_store import ShownStore
from storage.taste_store import TasteStore
from storage.track_store import TrackStore
from storage.user_store import UserStore
from storage.workout_store import WorkoutStore

log = logging.getLogger(__name__)
DATABASE_FILE = "beatmatch.db"
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def make_private(data_dir: Path) -> None:
    """``data_dir`` and everything under it for the owner only: directories 0700, files 0600
    (symbolic links are left alone). What can't be changed is logged, naming the path. A shared
    directory (sticky, like /tmp; the root; a home) is left as it is, with a warning."""
    if _shared(data_dir):
        log.warning(
            "the database is in %s, a directory shared with other files and users: set "
            "storage.data_dir to a directory of beatmatch's own (it is made private to its user)",
            data_dir,
        )
        return
    _tighten(data_dir, PRIVATE_DIR)
    for root, dirs, files in os.walk(data_dir):
        for name in dirs:
            _tighten(Path(root, name), PRIVATE_DIR)
        for name in files:
            _tighten(Path(root, name), PRIVATE_FILE)


def _shared(directory: Path) -> bool:
    """Whether ``directory`` is one many users or programs share: sticky, the root, a home."""
    if directory.stat().st_mode & stat.S_ISVTX:
        return True
    try:
        home: Path | None = Path.home().resolve()
    except RuntimeError:  # no home known
        home = None
    return directory.resolve() in (Path("/").resolve(), home)


def _tighten(path: Path, mode: int) -> None:
    try:
        status = path.lstat()
        if stat.S_ISLNK(status.st_mode) or stat.S_IMODE(status.st_mode) == mode:
            return
        path.chmod(mode)
    except FileNotFoundError:  # removed meanwhile (a partial model file moved into place)
        return
    except OSError as error:
        log.warning(
            "%s can't be made private to beatmatch's user (%s): set its owner to that user and "
            "its mode to %o",
            path,
            error.strerror or error,
            mode,
        )


def open_database(path: str | Path) -> sqlite_utils.Database:
    """Open (creating if needed) the database at ``path``, in WAL mode, with every migration applied.

    ``":memory:"`` gives a private in-memory database (tests). The connection may be used from
    worker threads; the stores serialise writes with one lock, and read through connections of
    their own (``storage.access.Sqlite``).
    """
    target = str(path)
    if target != ":memory:":
        data_dir = Path(target).parent
        data_dir.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        # Created 0600 before SQLite opens it: its -wal and -shm files take the database's mode.
        os.close(os.open(target, os.O_RDWR | os.O_CREAT, PRIVATE_FILE))
        make_private(data_dir)
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
    shown: ShownStore
    shown_lists: ShownListStore
    blend: BlendStore

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
            shown=ShownStore(sql),
            shown_lists=ShownListStore(sql),
            blend=BlendStore(sql),
        )

    def close(self) -> None:
        """Close the connection (a clean WAL checkpoint happens on close)."""
        self.sql.close()
