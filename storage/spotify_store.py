"""Spotify taste and the feature-source cache: the Repository's methods for them.

Top artists feed the preference score; feature misses remember which source did not know a
track, so the feature-source chain never asks the same source about it twice in a month.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence

import pandas as pd

from storage.access import SqliteAccess

#: The three time ranges as beatmatch stores them (Spotify's ``short_term`` → ``short``, …).
TIME_RANGES: tuple[str, ...] = ("short", "medium", "long")
_CHUNK = 900


class SpotifyStore(SqliteAccess):
    """The Spotify part of the Repository."""

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
        with self._tx() as db:
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
        return self._frame(
            "select artist, time_range, rank from top_artists where user_id = ? "
            "order by time_range, rank",
            [user_id],
        )

    def record_feature_misses(self, track_ids: Iterable[str], source: str) -> int:
        """Remember that ``source`` had no features for ``track_ids`` (now)."""
        now = time.time()
        rows = [(t, source, now) for t in dict.fromkeys(track_ids)]
        with self._tx() as db:
            db.conn.executemany(
                "insert or replace into feature_misses (track_id, source, checked_at) "
                "values (?,?,?)",
                rows,
            )
        return len(rows)

    def feature_misses(
        self, track_ids: Iterable[str], source: str, newer_than: float = 0.0
    ) -> set[str]:
        """The ids among ``track_ids`` that ``source`` did not know when last asked after ``newer_than``."""
        ids = list(dict.fromkeys(track_ids))
        out: set[str] = set()
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._rows(
                f"select track_id from feature_misses where source = ? and checked_at >= ? "
                f"and track_id in ({marks})",
                [source, newer_than, *chunk],
            )
            out.update(r["track_id"] for r in rows)
        return out

    def set_isrcs(self, isrcs: Mapping[str, str]) -> int:
        """Store the ISRC of tracks already stored (the join key to other catalogues)."""
        rows = [(isrc, track_id) for track_id, isrc in isrcs.items() if isrc]
        with self._tx() as db:
            db.conn.executemany("update tracks set isrc = ? where id = ?", rows)
        return len(rows)

    def stored_track_ids(self, track_ids: Iterable[str]) -> set[str]:
        """The ids among ``track_ids`` that have a row in the tracks table."""
        ids = list(dict.fromkeys(track_ids))
        out: set[str] = set()
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._rows(f"select id from tracks where id in ({marks})", chunk)
            out.update(r["id"] for r in rows)
        return out
