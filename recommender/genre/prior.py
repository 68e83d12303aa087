"""Catalog label counts by artist, by release and by recording: the prior for artists we know.

An artist's catalog tracks are the best evidence of its genre (on the shared catalog, the artist's
own label distribution alone names a held-out track of a known artist right 95 % of the time). The
same counts keyed by (artist, album) and (artist, track name) sharpen it for artists who span genres.
Keys are case-folded so "The Beatles" and "the beatles" are one artist.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender.tracks import split_artists

_SEP = "\x1f"  # unit separator: cannot occur in a name typed by a person


def text_column(tracks: pd.DataFrame, column: str) -> list[str]:
    """A text column as strings: "" for a missing column, None or NaN."""
    if column not in tracks.columns:
        return [""] * len(tracks)
    return [
        "" if v is None or (isinstance(v, float) and v != v) else str(v) for v in tracks[column]
    ]


def track_artists(tracks: pd.DataFrame) -> list[list[str]]:
    """The case-folded artists of each track (an empty list when unknown)."""
    return [[a.casefold() for a in split_artists(s)] for s in text_column(tracks, "artists")]


def _column(tracks: pd.DataFrame, column: str) -> list[str]:
    """A text column, case-folded and trimmed."""
    return [v.strip().casefold() for v in text_column(tracks, column)]


def prior_keys(tracks: pd.DataFrame) -> dict[str, list[list[str]]]:
    """For each prior ("artist", "release", "recording"), the keys of each track."""
    artists = track_artists(tracks)
    albums = _column(tracks, "album")
    names = _column(tracks, "name")
    release = [
        [a + _SEP + b for a in arts] if b else [] for arts, b in zip(artists, albums, strict=True)
    ]
    recording = [
        [a + _SEP + n for a in arts] if n else [] for arts, n in zip(artists, names, strict=True)
    ]
    return {"artist": artists, "release": release, "recording": recording}


class CountTable:
    """Label counts per key: ``counts`` is sparse (n_keys, n_classes)."""

    def __init__(self, keys: Sequence[str], counts: sp.csr_matrix) -> None:
        self.keys = list(keys)
        self.counts = counts
        self._row = {key: i for i, key in enumerate(self.keys)}

    @classmethod
    def build(cls, keys: list[list[str]], y: np.ndarray) -> CountTable:
        """Sum the label rows ``y`` (n_tracks, n_classes) of every track under each of its keys."""
        index: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        for track, track_keys in enumerate(keys):
            for key in dict.fromkeys(track_keys):  # a key listed twice counts once
                rows.append(index.setdefault(key, len(index)))
                cols.append(track)
        owner = sp.csr_matrix(
            (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(index), len(keys))
        )
        counts = sp.csr_matrix(owner @ sp.csr_matrix(y.astype(np.float32)))
        return cls(list(index), counts)

    def lookup(self, keys: list[list[str]]) -> np.ndarray:
        """Summed counts of each track's known keys, shape (n_tracks, n_classes); 0 if none known."""
        rows: list[int] = []
        cols: list[int] = []
        for track, track_keys in enumerate(keys):
            for key in dict.fromkeys(track_keys):
                row = self._row.get(key)
                if row is not None:
                    rows.append(track)
                    cols.append(row)
        pick = sp.csr_matrix(
            (np.ones(len(rows), dtype=np.float32), (rows, cols)),
            shape=(len(keys), len(self.keys)),
        )
        return np.asarray((pick @ self.counts).todense(), dtype=np.float64)

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """The table as plain arrays: keys as one UTF-8 blob with offsets, counts as CSR parts."""
        encoded = [key.encode("utf-8") for key in self.keys]
        lengths = np.array([len(e) for e in encoded], dtype=np.int64)
        return {
            f"{prefix}key_blob": np.frombuffer(b"".join(encoded), dtype=np.uint8),
            f"{prefix}key_offsets": np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
            f"{prefix}data": self.counts.data.astype(np.float32),
            f"{prefix}indices": self.counts.indices.astype(np.int16),
            f"{prefix}indptr": self.counts.indptr.astype(np.int64),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str, n_classes: int) -> CountTable:
        """Rebuild a table written by :meth:`to_arrays`."""
        blob = arrays[f"{prefix}key_blob"].tobytes()
        offsets = arrays[f"{prefix}key_offsets"]
        keys = [blob[s:e].decode("utf-8") for s, e in itertools.pairwise(offsets)]
        counts = sp.csr_matrix(
            (
                arrays[f"{prefix}data"],
                arrays[f"{prefix}indices"].astype(np.int32),
                arrays[f"{prefix}indptr"],
            ),
            shape=(len(keys), n_classes),
        )
        return cls(keys, counts)
