"""What /recommend showed each listener recently, so that asking again gives new tracks."""

from __future__ import annotations

import time
from collections.abc import Sequence

from storage.access import Sqlite


class ShownStore:
    """The shown_tracks table: (listener, track) → when it was last shown."""

    def __init__(self, sql: Sqlite) -> None:
        self.sql = sql

    def remember(self, user_id: int, track_ids: Sequence[str], now: float | None = None) -> None:
        """``track_ids`` were just shown to the listener (a track shown again gets the new time)."""
        at = time.time() if now is None else now
        rows = [(user_id, str(t), at) for t in track_ids]
        with self.sql.tx() as db:
            db.conn.executemany(
                "insert or replace into shown_tracks (user_id, track_id, shown_at) values (?,?,?)",
                rows,
            )

    def since(self, user_id: int, days: float, now: float | None = None) -> set[str]:
        """The track ids shown to the listener in the last ``days`` days (older rows are
        dropped on the way: nobody needs them)."""
        cutoff = (time.time() if now is None else now) - days * 86400.0
        with self.sql.tx() as db:
            db.execute(
                "delete from shown_tracks where user_id = ? and shown_at < ?", [user_id, cutoff]
            )
        rows = self.sql.rows(
            "select track_id from shown_tracks where user_id = ? and shown_at >= ?",
            [user_id, cutoff],
        )
        return {str(r["track_id"]) for r in rows}
