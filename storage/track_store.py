"""Tracks, their audio features and genre labels: the catalog, stored tracks and the feature cache.

Features arrive from several sources (the catalog, Exportify, ReccoBeats, Spotify's legacy
endpoint); a source never overwrites a better one. Feature misses remember which source did not
know a track, so the feature-source chain never asks the same source about it twice in a month.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd

from recommender.tracks import AUDIO_FEATURES, TEXT_COLUMNS, normalise_tracks
from storage.access import Sqlite, in_chunks
from storage.catalog_staging import (
    SOURCE_KEY,
    TRACK_FIELDS,
    TRACK_MERGE,
    UPDATED_KEY,
    CatalogStaging,
    discard_interrupted_import,
    import_lock,
)
from storage.meta_store import MetaStore
from storage.track_search import find_tracks

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
_BATCH = 5000


class TrackStore:
    """The tracks, features, track_genres and feature_misses tables.

    Opening it drops what an interrupted catalog import left behind (with a warning): see
    ``storage.catalog_staging``.
    """

    def __init__(self, sql: Sqlite, meta: MetaStore) -> None:
        self.sql = sql
        self.meta = meta
        self.interrupted_import = discard_interrupted_import(sql)

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
        feature_verb = "insert or replace" if overwrite_features else "insert or ignore"
        fields = ", ".join(TRACK_FIELDS)
        marks = ", ".join("?" * (len(TRACK_FIELDS) + 3))
        track_sql = (
            f"insert into tracks (id, {fields}, in_catalog, updated_at) values ({marks}) "
            + TRACK_MERGE
        )
        cols = ", ".join(AUDIO_FEATURES)
        marks = ", ".join("?" * (len(AUDIO_FEATURES) + 3))
        feature_sql = (
            f"{feature_verb} into features (track_id, {cols}, source, fetched_at) values ({marks})"
        )
        n_fields = 1 + len(TRACK_FIELDS)
        for stop, rows in _row_batches(tracks):
            track_rows = [[*row[:n_fields], int(in_catalog), now] for row in rows]
            feature_rows = [[row[0], *row[n_fields:-1], source, now] for row in rows if row[-1]]
            with self.sql.tx() as db:
                db.conn.executemany(track_sql, track_rows)
                db.conn.executemany(feature_sql, feature_rows)
            if progress:
                progress(stop, len(tracks))
        return len(tracks)

    def replace_catalog(
        self,
        tracks: pd.DataFrame,
        genres: pd.DataFrame,
        progress: Progress | None = None,
        *,
        source: str = "",
    ) -> dict[str, int]:
        """Make ``tracks`` (with ``genres``: track_id, genre) the catalog; idempotent on re-import.

        Atomic: the new catalog is staged in batches, then swapped in by one transaction that
        also stores ``source`` (the file's signature) under ``SOURCE_KEY``; until then, and after
        any failure or crash, the previous catalog stays complete. Tracks that left the catalog
        and that nothing refers to are deleted by the swap.
        """
        tracks = normalise_tracks(tracks)
        pairs = [
            (str(t), str(g))
            for t, g in genres[["track_id", "genre"]].drop_duplicates().itertuples(index=False)
        ]
        staging = CatalogStaging(self.sql)
        with import_lock(self.sql):
            staging.create()
            try:
                for stop, rows in _row_batches(tracks):
                    staging.add_tracks(rows)
                    if progress:
                        progress(stop, len(tracks))
                for start in range(0, len(pairs), _BATCH):
                    staging.add_genres(pairs[start : start + _BATCH])
                now = time.time()
                meta = {UPDATED_KEY: str(now)} | ({SOURCE_KEY: source} if source else {})
                orphans = staging.swap(now, meta)
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    staging.drop()
                raise
        if orphans:
            log.info("catalog swap deleted %d tracks that nothing refers to any more", orphans)
        return {"tracks": len(tracks), "genre_labels": len(genres)}

    def catalog_size(self) -> int:
        """How many tracks the imported catalog holds (0 when none was imported)."""
        return int(self.sql.rows("select count(*) as n from tracks where in_catalog = 1")[0]["n"])

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
        with self.sql.lock:
            conn = self.sql.db.conn
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
        parts = [
            self.sql.frame(self._track_select(f"t.id in ({marks})"), chunk)
            for chunk, marks in in_chunks(ids)
        ]
        if not parts:
            return normalise_tracks(pd.DataFrame(index=pd.Index([], name="track_id")))
        frame = pd.concat(parts) if len(parts) > 1 else parts[0]
        return normalise_tracks(frame.set_index("track_id"))

    def feature_sources(self, track_ids: Iterable[str]) -> dict[str, str]:
        """Where each track's features came from (catalog, exportify, reccobeats, …)."""
        ids = list(track_ids)
        out: dict[str, str] = {}
        for chunk, marks in in_chunks(ids):
            for row in self.sql.rows(
                f"select track_id, source from features where track_id in ({marks})", chunk
            ):
                out[row["track_id"]] = row["source"]
        return out

    def genres_of(self, track_id: str) -> list[str]:
        """Catalog genre labels of one track (may be empty)."""
        rows = self.sql.rows(
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
        frame = self.sql.frame(sql, [*params, title, int(limit)])
        return normalise_tracks(frame.set_index("track_id"))

    def find_tracks(
        self, text: str, limit: int = 25, *, catalog_only: bool = False, prefix: bool = True
    ) -> pd.DataFrame:
        """Stored tracks matching ``text`` in any case, with or without accents and punctuation,
        exact titles first, then catalog tracks, then popular ones (``storage.track_search``)."""
        return find_tracks(self.sql, text, limit, catalog_only=catalog_only, prefix=prefix)

    def record_feature_misses(self, track_ids: Iterable[str], source: str) -> int:
        """Remember that ``source`` had no features for ``track_ids`` (now)."""
        now = time.time()
        rows = [(t, source, now) for t in dict.fromkeys(track_ids)]
        with self.sql.tx() as db:
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
        for chunk, marks in in_chunks(ids):
            rows = self.sql.rows(
                f"select track_id from feature_misses where source = ? and checked_at >= ? "
                f"and track_id in ({marks})",
                [source, newer_than, *chunk],
            )
            out.update(r["track_id"] for r in rows)
        return out

    def set_isrcs(self, isrcs: Mapping[str, str]) -> int:
        """Store the ISRC of tracks already stored (the join key to other catalogues)."""
        rows = [(isrc, track_id) for track_id, isrc in isrcs.items() if isrc]
        with self.sql.tx() as db:
            db.conn.executemany("update tracks set isrc = ? where id = ?", rows)
        return len(rows)

    def stored_track_ids(self, track_ids: Iterable[str]) -> set[str]:
        """The ids among ``track_ids`` that have a row in the tracks table."""
        ids = list(dict.fromkeys(track_ids))
        out: set[str] = set()
        for chunk, marks in in_chunks(ids):
            rows = self.sql.rows(f"select id from tracks where id in ({marks})", chunk)
            out.update(r["id"] for r in rows)
        return out


def _row_batches(tracks: pd.DataFrame) -> Iterator[tuple[int, list[list[Any]]]]:
    """(end of batch, rows) per batch of a normalised track table; a row is (id, TRACK_FIELDS…,
    AUDIO_FEATURES…, has_features) with values SQLite can store (NaN as NULL, no numpy scalars), converted
    a column at a time."""
    columns = [*TRACK_FIELDS, *AUDIO_FEATURES]
    has_features = tracks[list(AUDIO_FEATURES)].notna().any(axis=1).to_numpy().tolist()
    ids = [str(i) for i in tracks.index]
    for start in range(0, len(ids), _BATCH):
        stop = min(start + _BATCH, len(ids))
        part = tracks.iloc[start:stop]
        cells = [
            part[c].str.replace("\x1f", " ").tolist()
            if c in TEXT_COLUMNS
            else part[c].astype(object).where(part[c].notna(), None).tolist()
            for c in columns
        ]
        rows = [
            [ids[start + i], *values, int(has_features[start + i])]
            for i, values in enumerate(zip(*cells, strict=True))
        ]
        yield stop, rows


def _split_column(joined: str | None) -> list[str]:
    """The values of a column read with group_concat(…, char(31))."""
    return joined.split("\x1f") if joined else []


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
