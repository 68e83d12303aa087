"""The one Repository: every read and write of beatmatch's SQLite database goes through here.

Calls are blocking; the bot runs them off the event loop. One connection is shared by worker
threads under a lock, so writes are serialised and each method is one transaction.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlite_utils

from recommender.tracks import AUDIO_FEATURES, TRACK_COLUMNS, normalise_tracks
from storage.access import SqliteAccess
from storage.account_store import AccountStore
from storage.database import open_database
from storage.heart_store import HeartStore
from storage.migrations import USER_TABLES
from storage.spotify_store import SpotifyStore
from storage.workout_store import WorkoutStore

Progress = Callable[[int, int], None]
_TRACK_FIELDS = (
    "name",
    "artists",
    "album",
    "duration_ms",
    "explicit",
    "popularity",
    "release_year",
)
_BATCH = 5000


def _row_key(row: Sequence[Any]) -> tuple[str, float, str]:
    """(track_id, rank, added_at) of a library row, comparable whatever SQLite gave back."""
    track_id, rank, added_at = row
    return str(track_id), float(rank) if rank is not None else -1.0, str(added_at or "")


def _clean(value: Any) -> Any:
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


class Repository(WorkoutStore, HeartStore, AccountStore, SpotifyStore, SqliteAccess):
    """Typed access to beatmatch's tables."""

    @classmethod
    def open(cls, path: str | Path) -> Repository:
        """Open the database file at ``path`` (migrated, WAL)."""
        return cls(open_database(path))

    def close(self) -> None:
        """Close the connection (a clean WAL checkpoint happens on close)."""
        with self._lock:
            self.db.close()

    # -- meta ---------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        """A value from the key-value meta table."""
        rows = self._rows("select value from meta where key = ?", [key])
        return rows[0]["value"] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        """Store a key-value pair in the meta table."""
        with self._tx() as db:
            db.table("meta").upsert({"key": key, "value": value}, pk="key")

    # -- users --------------------------------------------------------------------------------
    def user_id(self, platform: str, platform_user_id: str, display_name: str = "") -> int:
        """The internal id of a chat user, created on first sight."""
        with self._tx() as db:
            rows = list(
                db.query(
                    "select id from users where platform = ? and platform_user_id = ?",
                    [platform, platform_user_id],
                )
            )
            if rows:
                return int(rows[0]["id"])
            table = db.table("users").insert(
                {
                    "platform": platform,
                    "platform_user_id": platform_user_id,
                    "display_name": display_name,
                    "created_at": time.time(),
                    "settings": "{}",
                }
            )
            return int(table.last_pk or 0)

    def find_user(self, platform: str, platform_user_id: str) -> int | None:
        """The internal id of a chat user, or None if never seen."""
        rows = self._rows(
            "select id from users where platform = ? and platform_user_id = ?",
            [platform, platform_user_id],
        )
        return int(rows[0]["id"]) if rows else None

    def forget_user(self, user_id: int) -> dict[str, int]:
        """Delete every row of ``user_id`` (workouts, samples, library, tokens, …); counts per table."""
        counts: dict[str, int] = {}
        with self._tx() as db:
            workout_ids = [
                r["id"] for r in db.query("select id from workouts where user_id = ?", [user_id])
            ]
            for child in ("hr_samples", "workout_tracks"):
                deleted = 0
                for wid in workout_ids:
                    deleted += db.execute(
                        f"delete from {child} where workout_id = ?", [wid]
                    ).rowcount
                counts[child] = deleted
            counts["workouts"] = db.execute(
                "delete from workouts where user_id = ?", [user_id]
            ).rowcount
            for table in USER_TABLES:
                counts[table] = db.execute(
                    f"delete from {table} where user_id = ?", [user_id]
                ).rowcount
            counts["users"] = db.execute("delete from users where id = ?", [user_id]).rowcount
        return counts

    def user_settings(self, user_id: int) -> dict[str, Any]:
        """Per-user settings (JSON object)."""
        rows = self._rows("select settings from users where id = ?", [user_id])
        return json.loads(rows[0]["settings"] or "{}") if rows else {}

    def update_user_settings(self, user_id: int, **changes: Any) -> dict[str, Any]:
        """Merge ``changes`` into the user's settings and return the result."""
        with self._tx() as db:
            rows = list(db.query("select settings from users where id = ?", [user_id]))
            settings = json.loads(rows[0]["settings"] or "{}") if rows else {}
            settings.update(changes)
            db.execute(
                "update users set settings = ? where id = ?", [json.dumps(settings), user_id]
            )
        return settings

    # -- tracks, features, genres ---------------------------------------------------------------
    def upsert_tracks(
        self,
        tracks: pd.DataFrame,
        source: str,
        *,
        in_catalog: bool = False,
        overwrite_features: bool = False,
        progress: Progress | None = None,
    ) -> int:
        """Store a track table: descriptive rows always, features unless better ones exist.

        Features already stored are kept unless ``overwrite_features`` (the catalog comes first in
        the feature-source chain, so a catalog import overwrites and an Exportify import does not).
        Returns the number of tracks written.
        """
        tracks = normalise_tracks(tracks)
        now = time.time()
        ids = list(tracks.index)
        feature_verb = "insert or replace" if overwrite_features else "insert or ignore"
        has_features = tracks[list(AUDIO_FEATURES)].notna().any(axis=1).to_numpy()
        track_sql = (
            "insert into tracks (id, name, artists, album, duration_ms, explicit, popularity, "
            "release_year, in_catalog, updated_at) values (?,?,?,?,?,?,?,?,?,?) "
            "on conflict(id) do update set "
            "name = coalesce(nullif(excluded.name, ''), tracks.name), "
            "artists = coalesce(nullif(excluded.artists, ''), tracks.artists), "
            "album = coalesce(nullif(excluded.album, ''), tracks.album), "
            "duration_ms = coalesce(excluded.duration_ms, tracks.duration_ms), "
            "explicit = coalesce(excluded.explicit, tracks.explicit), "
            "popularity = coalesce(excluded.popularity, tracks.popularity), "
            "release_year = coalesce(excluded.release_year, tracks.release_year), "
            "in_catalog = max(tracks.in_catalog, excluded.in_catalog), "
            "updated_at = excluded.updated_at"
        )
        cols = ", ".join(AUDIO_FEATURES)
        marks = ", ".join("?" * (len(AUDIO_FEATURES) + 3))
        feature_sql = (
            f"{feature_verb} into features (track_id, {cols}, source, fetched_at) values ({marks})"
        )
        values = tracks.to_numpy(dtype=object)
        col_index = {c: i for i, c in enumerate(TRACK_COLUMNS)}
        written = 0
        for start in range(0, len(ids), _BATCH):
            stop = min(start + _BATCH, len(ids))
            track_rows, feature_rows = [], []
            for i in range(start, stop):
                row = values[i]
                track_rows.append(
                    [
                        ids[i],
                        *(_clean(row[col_index[c]]) for c in _TRACK_FIELDS),
                        int(in_catalog),
                        now,
                    ]
                )
                if has_features[i]:
                    feature_rows.append(
                        [ids[i], *(_clean(row[col_index[c]]) for c in AUDIO_FEATURES), source, now]
                    )
            with self._tx() as db:
                db.conn.executemany(track_sql, track_rows)
                db.conn.executemany(feature_sql, feature_rows)
            written = stop
            if progress:
                progress(written, len(ids))
        return written

    def replace_catalog(
        self, tracks: pd.DataFrame, genres: pd.DataFrame, progress: Progress | None = None
    ) -> dict[str, int]:
        """Make ``tracks`` (with ``genres``: track_id, genre) the catalog; idempotent on re-import."""
        with self._tx() as db:
            db.execute("update tracks set in_catalog = 0 where in_catalog = 1")
        written = self.upsert_tracks(
            tracks, "catalog", in_catalog=True, overwrite_features=True, progress=progress
        )
        pairs = genres[["track_id", "genre"]].drop_duplicates().itertuples(index=False)
        with self._tx() as db:
            db.execute("delete from track_genres where source = 'catalog'")
            db.conn.executemany(
                "insert or ignore into track_genres (track_id, genre, source) "
                "values (?, ?, 'catalog')",
                [(t, g) for t, g in pairs],
            )
        self.set_meta("catalog_updated_at", str(time.time()))
        return {"tracks": written, "genre_labels": len(genres)}

    def catalog_size(self) -> int:
        """How many tracks the imported catalog holds (0 when none was imported)."""
        return int(self._rows("select count(*) as n from tracks where in_catalog = 1")[0]["n"])

    def _track_select(self, where: str) -> str:
        cols = ", ".join(f"f.{c}" for c in AUDIO_FEATURES)
        return (
            f"select t.id as track_id, t.name, t.artists, t.album, t.popularity, "
            f"t.duration_ms, t.explicit, {cols}, t.release_year, f.source as feature_source "
            f"from tracks t left join features f on f.track_id = t.id where {where}"
        )

    def load_catalog(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(catalog track table, genre labels track_id/genre), read with little memory.

        Text and numbers are read apart and numbers in chunks straight into arrays: one query of
        every column would leave ~80 MB of freed float objects stranded between live strings.
        """
        numeric = ["popularity", "duration_ms", "explicit", *AUDIO_FEATURES, "release_year"]
        with self._lock:
            conn = self.db.conn
            # One joined string per column, split here: no per-row tuples between the strings.
            text = [
                _split_column(
                    conn.execute(
                        f"select group_concat(coalesce({column}, ''), char(31)) from "
                        f"(select {column} from tracks where in_catalog = 1 order by id)"
                    ).fetchone()[0]
                )
                for column in ("id", "name", "artists", "album")
            ]
            cols = ", ".join(f"f.{c}" if c in AUDIO_FEATURES else f"t.{c}" for c in numeric)
            cursor = conn.execute(
                f"select {cols} from tracks t left join features f on f.track_id = t.id "
                "where t.in_catalog = 1 order by t.id"
            )
            chunks = []
            while batch := cursor.fetchmany(4096):
                chunks.append(np.array(batch, dtype="float64"))
            genre_rows = conn.execute(
                "select g.track_id, g.genre from track_genres g join tracks t "
                "on t.id = g.track_id where t.in_catalog = 1"
            ).fetchall()
        values = np.vstack(chunks) if chunks else np.zeros((0, len(numeric)))
        ids, names, artists, albums = text
        frame = pd.DataFrame(values, columns=numeric, index=pd.Index(ids, name="track_id"))
        frame["name"], frame["artists"], frame["album"] = names, artists, albums
        genres = pd.DataFrame(genre_rows, columns=["track_id", "genre"])
        genres["genre"] = genres["genre"].astype("category")
        return normalise_tracks(frame), genres

    def get_tracks(self, track_ids: Iterable[str]) -> pd.DataFrame:
        """The stored track table for ``track_ids`` (ids not stored are absent)."""
        ids = list(dict.fromkeys(track_ids))
        parts = []
        for start in range(0, len(ids), 900):
            chunk = ids[start : start + 900]
            marks = ",".join("?" * len(chunk))
            parts.append(self._frame(self._track_select(f"t.id in ({marks})"), chunk))
        if not parts:
            return normalise_tracks(pd.DataFrame(index=pd.Index([], name="track_id")))
        frame = pd.concat(parts) if len(parts) > 1 else parts[0]
        return normalise_tracks(frame.set_index("track_id"))

    def feature_sources(self, track_ids: Iterable[str]) -> dict[str, str]:
        """Where each track's features came from (catalog, exportify, reccobeats, …)."""
        ids = list(track_ids)
        out: dict[str, str] = {}
        for start in range(0, len(ids), 900):
            chunk = ids[start : start + 900]
            marks = ",".join("?" * len(chunk))
            for row in self._rows(
                f"select track_id, source from features where track_id in ({marks})", chunk
            ):
                out[row["track_id"]] = row["source"]
        return out

    def genres_of(self, track_id: str) -> list[str]:
        """Catalog genre labels of one track (may be empty)."""
        rows = self._rows(
            "select genre from track_genres where track_id = ? order by genre", [track_id]
        )
        return [r["genre"] for r in rows]

    def search_tracks(self, title: str, artist: str = "", limit: int = 5) -> pd.DataFrame:
        """Stored tracks whose name contains ``title`` (and artists contain ``artist``), popular first."""
        where = "t.name like ? escape '\\'"
        params = [f"%{_like_escape(title)}%"]
        if artist:
            where += " and t.artists like ? escape '\\'"
            params.append(f"%{_like_escape(artist)}%")
        sql = (
            self._track_select(where)
            + " order by (lower(t.name) = lower(?)) desc, t.in_catalog desc, "
            "coalesce(t.popularity, 0) desc limit ?"
        )
        frame = self._frame(sql, [*params, title, int(limit)])
        return normalise_tracks(frame.set_index("track_id"))

    # -- library ------------------------------------------------------------------------------
    def replace_library(self, user_id: int, source: str, entries: pd.DataFrame) -> int:
        """Replace the user's library rows of ``source`` with ``entries`` (track_id, rank, added_at)."""
        now = time.time()
        rows = [
            (user_id, str(r.track_id), source, _clean(r.rank), _clean(r.added_at), now)
            for r in entries.itertuples(index=False)
        ]
        with self._tx() as db:
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
        return self._frame(
            "select track_id, source, rank, added_at from library "
            "where user_id = ? order by source, rank",
            [user_id],
        )

    def library_size(self, user_id: int) -> int:
        """Distinct tracks in the user's library."""
        return int(
            self._rows(
                "select count(distinct track_id) as n from library where user_id = ?", [user_id]
            )[0]["n"]
        )

    # -- feedback -----------------------------------------------------------------------------
    def set_feedback(self, user_id: int, track_id: str, value: int) -> None:
        """Record a like (+1) or dislike (-1); a later press replaces an earlier one."""
        with self._tx() as db:
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
        rows = self._rows("select track_id, value from feedback where user_id = ?", [user_id])
        return {r["track_id"]: int(r["value"]) for r in rows}

    def _bump_taste_version(self, db: sqlite_utils.Database, user_id: int) -> None:
        rows = list(db.query("select settings from users where id = ?", [user_id]))
        settings = json.loads(rows[0]["settings"] or "{}") if rows else {}
        settings["taste_version"] = int(settings.get("taste_version", 0)) + 1
        db.execute("update users set settings = ? where id = ?", [json.dumps(settings), user_id])

    def taste_version(self, user_id: int) -> int:
        """A counter that changes whenever the user's library or feedback changes."""
        return int(self.user_settings(user_id).get("taste_version", 0))

    # -- models -------------------------------------------------------------------------------
    def save_model_record(
        self, user_id: int, kind: str, path: str, fingerprint: str, metrics: dict[str, Any]
    ) -> None:
        """Remember where a user's trained model lives and what it was trained on."""
        with self._tx() as db:
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
        rows = self._rows("select * from models where user_id = ? and kind = ?", [user_id, kind])
        if not rows:
            return None
        record = dict(rows[0])
        record["metrics"] = json.loads(record["metrics"] or "{}")
        return record

    # -- profiles -----------------------------------------------------------------------------
    def profile(self, user_id: int) -> dict[str, Any]:
        """The user's heart profile fields (absent ones are None)."""
        rows = self._rows(
            "select age, resting_hr, max_hr, cadence, goal_zone from profiles where user_id = ?",
            [user_id],
        )
        keys = ("age", "resting_hr", "max_hr", "cadence", "goal_zone")
        return dict(rows[0]) if rows else dict.fromkeys(keys)

    def update_profile(self, user_id: int, **fields: int | None) -> dict[str, Any]:
        """Set some profile fields (None clears one) and return the whole profile."""
        current = self.profile(user_id)
        current.update(fields)
        with self._tx() as db:
            db.table("profiles").upsert(
                {"user_id": user_id, **current, "updated_at": time.time()}, pk="user_id"
            )
        return current


def _split_column(joined: str | None) -> list[str]:
    """The values of a column read with group_concat(…, char(31))."""
    return joined.split("\x1f") if joined else []


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
