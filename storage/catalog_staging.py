"""Replacing the catalog atomically: staging tables filled in short batches, then one swap.

A catalog import writes the new catalog into staging tables, a batch per short transaction (a
running bot's writes wait for one batch at most), and then makes it the catalog in ONE
transaction done in SQL: until that commits, the previous complete catalog is the one served, and
a crash (power cut, ``kill -9``) leaves it untouched. Staging tables found when the database is
opened are what such a crash left behind: they are reported and dropped.

One import at a time writes the staging tables: it holds an exclusive ``flock`` on a lock file
beside the database (the kernel lets go of it when the process dies), so a process that opens the
database while another one imports leaves that import's staging tables alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from recommender.tracks import AUDIO_FEATURES
from storage.access import Sqlite
from storage.errors import ImportFormatError

log = logging.getLogger(__name__)

STAGED_TRACKS = "catalog_staging_tracks"
STAGED_GENRES = "catalog_staging_genres"
#: The meta key holding the signature of the catalog file imported last (set by the swap).
SOURCE_KEY = "catalog_source"
#: The meta key holding when the catalog was last replaced (the catalog's fingerprint).
UPDATED_KEY = "catalog_updated_at"

#: Descriptive columns of a track row, in the order the staging and tracks tables share.
TRACK_FIELDS: tuple[str, ...] = (
    "name",
    "artists",
    "album",
    "duration_ms",
    "explicit",
    "popularity",
    "release_year",
)

#: A stored track's value of each field after an upsert: a blank or unknown value never
#: replaces a known one.
_MERGED = {
    field: (
        f"coalesce(nullif(excluded.{field}, ''), tracks.{field})"
        if field in ("name", "artists", "album")
        else f"coalesce(excluded.{field}, tracks.{field})"
    )
    for field in TRACK_FIELDS
}
#: The upsert clause of a tracks insert (see ``_MERGED``).
TRACK_MERGE = (
    "on conflict(id) do update set "
    + ", ".join(f"{field} = {merged}" for field, merged in _MERGED.items())
    + ", in_catalog = max(tracks.in_catalog, excluded.in_catalog), "
    "updated_at = excluded.updated_at"
)
#: True when the upsert would change the stored track (the swap rewrites only those rows).
_TRACK_CHANGES = " or ".join(
    ["tracks.in_catalog < excluded.in_catalog"]
    + [f"{merged} is not tracks.{field}" for field, merged in _MERGED.items()]
)
#: True when staged catalog features differ from the stored ones.
_FEATURES_CHANGE = " or ".join(
    ["features.source is not 'catalog'"]
    + [f"features.{c} is not excluded.{c}" for c in AUDIO_FEATURES]
)

#: Rows that keep a track which left the catalog: (table, condition on the row). A track that no
#: longer is in the catalog and has none of these is an orphan, deleted by the swap. Every table
#: with a track id column is either here or holds only data of the track itself (catalog
#: features and labels); tests/integration/test_catalog_reimport.py checks the schema against it.
TRACK_REFERENCES: tuple[tuple[str, str], ...] = (
    ("library", "true"),
    ("feedback", "true"),
    ("workout_tracks", "true"),
    ("workout_sent_tracks", "true"),
    ("feature_misses", "true"),
    ("features", "source != 'catalog'"),
    ("track_genres", "coalesce(source, '') != 'catalog'"),
)

#: Tables that name tracks without needing them kept: a "shown lately" record of a track that left
#: the catalog is simply never matched again (and expires with the fresh-lists window); a library
#: track's Exportify genres go with its library row, which keeps the track already.
TRACK_MENTIONS: tuple[str, ...] = ("shown_tracks", "library_genres")

_FEATURES = ", ".join(AUDIO_FEATURES)
_FIELDS = ", ".join(TRACK_FIELDS)


@contextlib.contextmanager
def import_lock(sql: Sqlite) -> Iterator[None]:
    """Hold the database's catalog-import lock (ImportFormatError if another import holds it)."""
    if sql.path is None:  # an in-memory database: no other process can see it
        yield
        return
    with _lock_file(sql.path) as held:
        if not held:
            raise ImportFormatError(
                f"Another catalog import is writing to {sql.path} right now; "
                "let it finish, then import again if you still need to."
            )
        yield


@contextlib.contextmanager
def _lock_file(db_path: str) -> Iterator[bool]:
    """Try to take the import lock of the database at ``db_path``; yields whether it was taken."""
    path = Path(db_path).with_name(Path(db_path).name + ".import-lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def import_running(db_path: str | Path) -> bool:
    """True while a catalog import into the database at ``db_path`` holds its lock (in this or
    another process): the catalog is being staged or swapped."""
    with _lock_file(str(db_path)) as held:
        return not held


def staging_left(sql: Sqlite) -> bool:
    """True when staging tables exist (an import is running or was interrupted)."""
    found = sql.db.conn.execute(
        "select count(*) from sqlite_master where type = 'table' and name in (?, ?)",
        [STAGED_TRACKS, STAGED_GENRES],
    ).fetchone()[0]
    return bool(found)


def discard_interrupted_import(sql: Sqlite) -> bool:
    """Drop staging tables an interrupted import left behind, with a warning; True if it did.

    Tables of an import that another process is still running are left alone.
    """
    with sql.lock:
        if not staging_left(sql):
            return False
        with contextlib.ExitStack() as stack:
            if sql.path is not None and not stack.enter_context(_lock_file(sql.path)):
                log.info("a catalog import is running in another process: not touching it")
                return False
            _drop_staging(sql)
        size = sql.db.conn.execute("select count(*) from tracks where in_catalog = 1").fetchone()
    log.warning(
        "The last catalog import into %s was interrupted before it finished: the previous "
        "complete catalog (%s tracks) is still in use. Run `beatmatch import-catalog PATH` "
        "again to import the new one.",
        sql.path or "the database",
        f"{size[0]:,}",
    )
    return True


class CatalogStaging:
    """The staging tables of one import: created empty, filled in batches, then swapped in.

    Use it while holding ``import_lock``.
    """

    def __init__(self, sql: Sqlite) -> None:
        self.sql = sql

    def create(self) -> None:
        """Start from empty staging tables."""
        with self.sql.tx() as db:
            self._drop(db.conn)
            # No keys while they fill: appending is several times faster than keeping an index.
            # The swap builds the one index it needs in bulk; its "in (select …)" build theirs.
            db.execute(
                f"create table {STAGED_TRACKS} (id text, {_FIELDS}, {_FEATURES}, has_features int)"
            )
            db.execute(f"create table {STAGED_GENRES} (track_id text, genre text)")

    def add_tracks(self, rows: Sequence[Sequence[Any]]) -> None:
        """Stage rows of (id, TRACK_FIELDS…, AUDIO_FEATURES…, has_features) in one transaction."""
        marks = ", ".join("?" * (2 + len(TRACK_FIELDS) + len(AUDIO_FEATURES)))
        with self.sql.tx() as db:
            db.conn.executemany(f"insert into {STAGED_TRACKS} values ({marks})", rows)

    def add_genres(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Stage (track_id, genre) labels in one transaction."""
        with self.sql.tx() as db:
            db.conn.executemany(f"insert into {STAGED_GENRES} values (?, ?)", pairs)

    def swap(self, now: float, meta: dict[str, str]) -> int:
        """Make the staged tracks the catalog in one transaction; returns orphans deleted.

        Tracks leave the catalog, the staged ones join it (their features replace stored ones),
        catalog genre labels are replaced, orphans go, ``meta`` is stored and the staging tables
        are dropped: all of it commits together or not at all. Rows that stay as they are are
        not rewritten, so re-importing a catalog much like the current one holds the database's
        write lock briefly.
        """
        features_set = ", ".join(f"{c} = excluded.{c}" for c in AUDIO_FEATURES)
        with self.sql.tx() as db:  # built in bulk, before the swap: its lookups need it
            db.execute(
                f"create index if not exists {STAGED_GENRES}_key on {STAGED_GENRES} "
                "(track_id, genre)"
            )
        with self.sql.tx() as db:
            conn = db.conn
            conn.execute(
                "update tracks set in_catalog = 0 where in_catalog = 1 "
                f"and id not in (select id from {STAGED_TRACKS})"
            )
            conn.execute(
                f"insert into tracks (id, {_FIELDS}, in_catalog, updated_at) "
                f"select id, {_FIELDS}, 1, ? from {STAGED_TRACKS} where true {TRACK_MERGE} "
                f"where {_TRACK_CHANGES}",
                [now],
            )
            conn.execute(
                f"insert into features (track_id, {_FEATURES}, source, fetched_at) "
                f"select id, {_FEATURES}, 'catalog', ? from {STAGED_TRACKS} where has_features "
                f"on conflict(track_id) do update set {features_set}, source = 'catalog', "
                f"fetched_at = excluded.fetched_at where {_FEATURES_CHANGE}",
                [now],
            )
            conn.execute(
                "delete from track_genres where source = 'catalog' and not exists (select 1 "
                f"from {STAGED_GENRES} s where s.track_id = track_genres.track_id "
                "and s.genre = track_genres.genre)"
            )
            conn.execute(
                "insert or ignore into track_genres (track_id, genre, source) "
                f"select track_id, genre, 'catalog' from {STAGED_GENRES}"
            )
            orphans = _delete_orphans(conn)
            conn.executemany(
                "insert into meta (key, value) values (?, ?) "
                "on conflict(key) do update set value = excluded.value",
                list(meta.items()),
            )
            self._drop(conn)
        return orphans

    def drop(self) -> None:
        """Drop the staging tables (an import that failed cleans up after itself)."""
        _drop_staging(self.sql)

    @staticmethod
    def _drop(conn: Any) -> None:
        conn.execute(f"drop table if exists {STAGED_TRACKS}")
        conn.execute(f"drop table if exists {STAGED_GENRES}")


def _drop_staging(sql: Sqlite) -> None:
    with sql.tx() as db:
        CatalogStaging._drop(db.conn)


def _delete_orphans(conn: Any) -> int:
    """Delete tracks out of the catalog that nothing refers to (with their catalog data)."""
    kept = " ".join(
        f"and id not in (select track_id from {table} where track_id is not null and {condition})"
        for table, condition in TRACK_REFERENCES
    )
    conn.execute("drop table if exists temp.catalog_orphans")
    conn.execute(
        f"create temp table catalog_orphans as select id from tracks where in_catalog = 0 {kept}"
    )
    for table in ("features", "track_genres"):
        conn.execute(f"delete from {table} where track_id in (select id from catalog_orphans)")
    deleted = conn.execute(
        "delete from tracks where id in (select id from catalog_orphans)"
    ).rowcount
    conn.execute("drop table temp.catalog_orphans")
    return int(deleted)
