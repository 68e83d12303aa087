"""The key-value meta table: facts about the database itself (catalog source, digest subscribers)."""

from __future__ import annotations

from storage.access import Sqlite


class MetaStore:
    """Reads and writes single values of the ``meta`` table."""

    def __init__(self, sql: Sqlite) -> None:
        self.sql = sql

    def get(self, key: str) -> str | None:
        """A value from the meta table (None if never set)."""
        rows = self.sql.rows("select value from meta where key = ?", [key])
        return rows[0]["value"] if rows else None

    def set(self, key: str, value: str) -> None:
        """Store a key-value pair in the meta table."""
        with self.sql.tx() as db:
            db.table("meta").upsert({"key": key, "value": value}, pk="key")
