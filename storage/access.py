"""The shared SQLite connection: used by every store from worker threads, under one lock."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import sqlite_utils

T = TypeVar("T")


class Sqlite:
    """One connection, used from worker threads under a lock; each ``tx`` is one transaction.

    The stores (users, tracks, taste, workouts, accounts, meta) each hold this object rather than
    inheriting from it, so they share the connection and its lock without sharing methods.
    """

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self.lock = threading.RLock()

    @contextmanager
    def tx(self) -> Iterator[sqlite_utils.Database]:
        """A transaction under the lock (committed on exit, rolled back on an exception)."""
        with self.lock, self.db.atomic():
            yield self.db

    def rows(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        """The rows of a query, as dicts."""
        with self.lock:
            return list(self.db.query(sql, params))

    def frame(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        """The rows of a query, as a DataFrame."""
        with self.lock:
            return pd.read_sql_query(sql, self.db.conn, params=tuple(params))

    def close(self) -> None:
        """Close the connection (a clean WAL checkpoint happens on close)."""
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
