"""What a listener's taste is learned from: library rows, feedback, top artists, and model records.

Every change to a user's library or feedback bumps their taste version (a counter in their
settings), so a stored model knows whether it is still current.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

import pandas as pd
import sqlite_utils

from storage.access import Sqlite, db_value

#: Spotify's top-list time ranges as beatmatch names them (``short_term`` ≈ 4 weeks → ``short``, …).
TIME_RANGES: tuple[str, ...] = ("short", "medium", "long")


def _row_key(row: Sequence[Any]) -> tuple[str, float, str]:
    """(track_id, rank, added_at) of a library row, comparable whatever SQLite gave back."""
    track_id, rank, added_at = row
    return str(track_id), float(rank) if rank is not None else -1.0, str(added_at or "")


class TasteStore:
    """The library, library_genres, feedback, top_artists, seeds and models tables."""

    def __init__(self, sql: Sqlite) -> None:
        self.sql = sql

    def replace_library(self, user_id: int, source: str, entries: pd.DataFrame) -> int:
        """Replace the user's library rows of ``source`` with ``entries`` (track_id, rank, added_at)."""
        now = time.time()
        rows = [
            (user_id, str(r.track_id), source, db_value(r.rank), db_value(r.added_at), now)
            for r in entries.itertuples(index=False)
        ]
        with self.sql.tx() as db:
            held = db.execute(
                "select track_id, rank, added_at from library where user_id = ? and source = ?",
                [user_id, source],
            ).fetchall()
            if sorted(map(_row_key, held)) == sorted(_row_key((r[1], r[3], r[4])) for r in rows):
                return len(rows)  # the same list again (a refresh, a re-import): nothing to learn
            db.execute("delete from library where user_id = ? and source = ?", [user_id, source])
            db.conn.executemany(
                "insert or replace into library (user_id, track_id, source, rank, added_at, "
                "imported_at) values (?,?,?,?,?,?)",
                rows,
            )
            self._bump_taste_version(db, user_id)
        return len(rows)

    def library(self, user_id: int) -> pd.DataFrame:
        """The user's library rows: track_id, source, rank, added_at."""
        return self.sql.frame(
            "select track_id, source, rank, added_at from library "
            "where user_id = ? order by source, rank",
            [user_id],
        )

    def replace_library_genres(self, user_id: int, genres: dict[str, str]) -> None:
        """Replace the user's library genres (track_id → Exportify "Genres" cell; empty cells are
        not kept)."""
        rows = [(user_id, track_id, cell) for track_id, cell in genres.items() if cell]
        with self.sql.tx() as db:
            db.execute("delete from library_genres where user_id = ?", [user_id])
            db.conn.executemany(
                "insert into library_genres (user_id, track_id, genres) values (?,?,?)", rows
            )

    def library_genres(self, user_id: int) -> dict[str, str]:
        """track_id → Spotify's artist genres (comma-separated) of the user's library tracks that
        had them in the Exportify file."""
        rows = self.sql.rows(
            "select track_id, genres from library_genres where user_id = ?", [user_id]
        )
        return {str(r["track_id"]): str(r["genres"]) for r in rows}

    def library_size(self, user_id: int) -> int:
        """Distinct tracks in the user's library."""
        return int(
            self.sql.rows(
                "select count(distinct track_id) as n from library where user_id = ?", [user_id]
            )[0]["n"]
        )

    # -- feedback -----------------------------------------------------------------------------
    def set_feedback(self, user_id: int, track_id: str, value: int) -> None:
        """Record a like (+1) or dislike (-1); a later press replaces an earlier one."""
        with self.sql.tx() as db:
            db.execute("insert or ignore into tracks (id, in_catalog) values (?, 0)", [track_id])
            db.table("feedback").upsert(
                {
                    "user_id": user_id,
                    "track_id": track_id,
                    "value": int(value),
                    "created_at": time.time(),
                },
                pk=("user_id", "track_id"),
            )
            self._bump_taste_version(db, user_id)

    def feedback(self, user_id: int) -> dict[str, int]:
        """track_id → +1/-1 for the user's feedback."""
        rows = self.sql.rows("select track_id, value from feedback where user_id = ?", [user_id])
        return {r["track_id"]: int(r["value"]) for r in rows}

    def replace_seeds(self, user_id: int, seeds: Sequence[tuple[str, str]]) -> None:
        """Replace the user's /start seeds with ``seeds``: (kind "track"|"artist", value)."""
        now = time.time()
        with self.sql.tx() as db:
            db.execute("delete from seeds where user_id = ?", [user_id])
            db.conn.executemany(
                "insert into seeds (user_id, position, kind, value, created_at) values (?,?,?,?,?)",
                [(user_id, i, kind, value, now) for i, (kind, value) in enumerate(seeds)],
            )
            self._bump_taste_version(db, user_id)  # a model learned from the old seeds is stale

    def seeds(self, user_id: int) -> list[tuple[str, str]]:
        """The user's /start seeds, (kind, value) in the order named; [] when none."""
        rows = self.sql.rows(
            "select kind, value from seeds where user_id = ? order by position", [user_id]
        )
        return [(str(r["kind"]), str(r["value"])) for r in rows]

    def _bump_taste_version(self, db: sqlite_utils.Database, user_id: int) -> None:
        rows = list(db.query("select settings from users where id = ?", [user_id]))
        settings = json.loads(rows[0]["settings"] or "{}") if rows else {}
        settings["taste_version"] = int(settings.get("taste_version", 0)) + 1
        db.execute("update users set settings = ? where id = ?", [json.dumps(settings), user_id])

    def taste_version(self, user_id: int) -> int:
        """A counter that changes whenever the user's library or feedback changes."""
        rows = self.sql.rows("select settings from users where id = ?", [user_id])
        settings = json.loads(rows[0]["settings"] or "{}") if rows else {}
        return int(settings.get("taste_version", 0))

    # -- models -------------------------------------------------------------------------------
    def save_model_record(
        self, user_id: int, kind: str, path: str, fingerprint: str, metrics: dict[str, Any]
    ) -> None:
        """Remember where a user's trained model lives and what it was trained on."""
        with self.sql.tx() as db:
            db.table("models").upsert(
                {
                    "user_id": user_id,
                    "kind": kind,
                    "path": path,
                    "fingerprint": fingerprint,
                    "trained_at": time.time(),
                    "metrics": json.dumps(metrics),
                },
                pk=("user_id", "kind"),
            )

    def model_record(self, user_id: int, kind: str) -> dict[str, Any] | None:
        """The stored record of a user's model, or None."""
        rows = self.sql.rows("select * from models where user_id = ? and kind = ?", [user_id, kind])
        if not rows:
            return None
        record = dict(rows[0])
        record["metrics"] = json.loads(record["metrics"] or "{}")
        return record

    def replace_top_artists(
        self, user_id: int, time_range: str, artists: Sequence[tuple[str, str]]
    ) -> int:
        """Replace the user's top artists of one time range with ``artists`` (name, id) in rank order."""
        if time_range not in TIME_RANGES:
            raise ValueError(f"unknown time range {time_range!r}")
        rows = [
            (user_id, time_range, rank, name, artist_id)
            for rank, (name, artist_id) in enumerate(artists, start=1)
        ]
        with self.sql.tx() as db:
            db.execute(
                "delete from top_artists where user_id = ? and time_range = ?",
                [user_id, time_range],
            )
            db.conn.executemany(
                "insert into top_artists (user_id, time_range, rank, artist, artist_id) "
                "values (?,?,?,?,?)",
                rows,
            )
        return len(rows)

    def top_artists(self, user_id: int) -> pd.DataFrame:
        """The user's top artists: columns artist, time_range (short|medium|long), rank."""
        return self.sql.frame(
            "select artist, time_range, rank from top_artists where user_id = ? "
            "order by time_range, rank",
            [user_id],
        )
