"""The SQLite connections every store uses from worker threads: one writer under a lock, and in
WAL mode a reader per thread that never waits for it."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import sqlite_utils

T = TypeVar("T")


class Sqlite:
    """The writer connection, used under a lock (each ``tx`` is one transaction), and readers.

    With a database file in WAL mode (``path`` given), ``rows`` and ``frame`` read through a
    connection of the calling thread's own: a reader sees every committed write and never waits
    for one in progress, so a /recommend reading a library is not held up by 3,000 tracks another
    listener's import is writing. Inside a ``tx`` (same thread), reads go through the writer and
    see the transaction's own writes. Without ``path`` (an in-memory database) every read takes
    the writer and its lock.

    The stores (users, tracks, taste, workouts, accounts, meta) each hold this object rather than
    inheriting from it, so they share the connections and the lock without sharing methods.
    """

    def __init__(self, db: sqlite_utils.Database, path: str | None = None) -> None:
        self.db = db
        self.lock = threading.RLock()
        self.path = path
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._closed = False

    @contextmanager
    def tx(self) -> Iterator[sqlite_utils.Database]:
        """A transaction under the lock (committed on exit, rolled back on an exception)."""
        with self.lock, self.db.atomic():
            self._local.depth = getattr(self._local, "depth", 0) + 1
            try:
                yield self.db
            finally:
                self._local.depth -= 1

    def rows(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        """The rows of a query, as dicts."""
        reader = self._reader()
        if reader is None:
            with self.lock:
                return list(self.db.query(sql, params))
        cursor = reader.execute(sql, params)
        names = [d[0] for d in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def frame(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        """The rows of a query, as a DataFrame."""
        reader = self._reader()
        if reader is None:
            with self.lock:
                return pd.read_sql_query(sql, self.db.conn, params=tuple(params))
        return pd.read_sql_query(sql, reader, params=tuple(params))

    def _reader(self) -> sqlite3.Connection | None:
        """This thread's read connection (opened on first use); None: read through the writer."""
        depth: int = getattr(self._local, "depth", 0)
        if self.path is None or depth:
            return None
        reader: sqlite3.Connection | None = getattr(self._local, "reader", None)
        if reader is None:
            with self._readers_lock:
                if self._closed:
                    raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
                # check_same_thread off only so that close() may close it from another thread.
                reader = sqlite3.connect(
                    self.path, check_same_thread=False, timeout=30.0, isolation_level=None
                )
                reader.execute("PRAGMA query_only = ON")
                reader.execute("PRAGMA busy_timeout = 30000")
                self._readers.append(reader)
            self._local.reader = reader
        return reader

    def close(self) -> None:
        """Close every connection (a clean WAL checkpoint happens on the last close)."""
        with self._readers_lock:
            self._closed = True
            readers, self._readers = self._readers, []
        for reader in readers:
            reader.close()
        with self.lock:
            self.db.close()


def in_chunks(ids: Sequence[T], size: int = 900) -> Iterator[tuple[list[T], str]]:
    """``ids`` in chunks small enough for one ``in (…)`` list, each with its ``?`` marks."""
    for start in range(0, len(ids), size):
        chunk = list(ids[start : start + size])
        yield chunk, ",".join("?" * len(chunk))


def db_value(value: Any) -> Any:
    """A value SQLite can store: NaN and pandas NA become NULL, numpy scalars become Python."""
    if value is None:
        return None
    if isinstance(value, str):  # \x1f separates values when the catalog is read back
        return value.replace("\x1f", " ")
    if isinstance(value, float | np.floating) and np.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value
