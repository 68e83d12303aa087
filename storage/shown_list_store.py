"""Long lists shown to a listener (a reply as JSON, by a short random key), so that a chat's page
buttons can show any page of one later — also after a restart. Only each listener's latest
``KEPT`` lists are kept; /forget erases them with the rest of the user's rows."""

from __future__ import annotations

from storage.access import Sqlite

KEPT = 20


class ShownListStore:
    """Reads and writes the ``shown_lists`` table."""

    def __init__(self, sql: Sqlite) -> None:
        self.sql = sql

    def keep(self, key: str, user_id: int, reply_json: str, now: float, kept: int = KEPT) -> None:
        """Store a list under ``key``; the user's lists beyond the latest ``kept`` are deleted."""
        with self.sql.tx() as db:
            db.table("shown_lists").insert(
                {"key": key, "user_id": user_id, "created_at": now, "reply": reply_json},
                pk="key",
            )
            db.execute(
                "delete from shown_lists where user_id = ? and key not in (select key from "
                "shown_lists where user_id = ? order by created_at desc, rowid desc limit ?)",
                [user_id, user_id, kept],
            )

    def get(self, key: str) -> str | None:
        """The JSON of the list stored under ``key`` (None: never stored, or erased since)."""
        rows = self.sql.rows("select reply from shown_lists where key = ?", [key])
        return str(rows[0]["reply"]) if rows else None

    def count(self, user_id: int) -> int:
        """How many lists of ``user_id`` are stored."""
        rows = self.sql.rows("select count(*) as n from shown_lists where user_id = ?", [user_id])
        return int(rows[0]["n"])
