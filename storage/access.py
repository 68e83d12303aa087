"""Locked access to the shared SQLite connection: the base of the Repository and its mixins."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pandas as pd
import sqlite_utils


class SqliteAccess:
    """One connection, used from worker threads under a lock; each ``_tx`` is one transaction."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self._lock = threading.RLock()

    @contextmanager
    def _tx(self) -> Iterator[sqlite_utils.Database]:
        with self._lock, self.db.atomic():
            yield self.db

    def _rows(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.db.query(sql, params))

    def _frame(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        with self._lock:
            return pd.read_sql_query(sql, self.db.conn, params=tuple(params))
