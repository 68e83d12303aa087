"""The feature matrix the taste model sees: audio features plus what the user's library says about a track.

Every feature is computed from what a track *is* (its audio features, its artists, its names) and
from the user's training library, never from where its row came from. Values a source lacks stay
missing (the catalog never has a release year, ReccoBeats no popularity); the taste model then
equalises how often each feature is missing among its positives and negatives
(``recommender.taste.match_missingness``), so "is missing" can never stand for "came from the file".
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from recommender.tracks import AUDIO_FEATURES, split_artists

#: Smoothing of artist shares: an artist with one library track out of N scores 1 / (N + ALPHA).
ARTIST_ALPHA = 5.0

BASE_FEATURES: tuple[str, ...] = (
    *AUDIO_FEATURES,
    "popularity",
    "duration_min",
    "explicit",
    "tempo_folded",
    "release_year",
)
AFFINITY_FEATURES: tuple[str, ...] = (
    "artist_share_max",
    "artist_share_sum",
    "artist_known_fraction",
    "artist_count_log",
)
FEATURE_NAMES: tuple[str, ...] = (*BASE_FEATURES, *AFFINITY_FEATURES)


def artist_key(name: str) -> str:
    """The key artists are matched by: case- and space-insensitive."""
    return " ".join(name.lower().split())


def track_artist_keys(artists: str) -> list[str]:
    """Matching keys for a ";"-separated artists cell."""
    return [artist_key(a) for a in split_artists(artists)]


def fold_tempo(tempo: np.ndarray, low: float = 80.0) -> np.ndarray:
    """Tempo folded by octaves into [low, 2·low): 70 and 140 bpm feel alike. Shape preserved."""
    out = np.asarray(tempo, dtype="float64").copy()
    valid = np.isfinite(out) & (out > 0)
    values = out[valid]
    octaves = np.floor(np.log2(values / low))
    out[valid] = values / np.power(2.0, octaves)
    return out


@dataclass
class TasteProfile:
    """What the training library says about a listener, for computing affinity features."""

    artist_weight: Mapping[str, float] = field(default_factory=dict)
    total_weight: float = 0.0
    artist_count: Mapping[str, int] = field(default_factory=dict)  # library tracks per artist

    @classmethod
    def from_library(cls, tracks: pd.DataFrame, weights: pd.Series | None = None) -> TasteProfile:
        """Artist weights summed over library tracks (``weights`` per track_id, default 1)."""
        counter: dict[str, float] = {}
        counts: Counter[str] = Counter()
        total = 0.0
        for track_id, artists in tracks["artists"].items():
            w = 1.0 if weights is None else float(weights.get(track_id, 1.0))
            total += w
            for key in set(track_artist_keys(artists)):
                counter[key] = counter.get(key, 0.0) + w
                counts[key] += 1
        return cls(artist_weight=dict(counter), total_weight=total, artist_count=dict(counts))


@dataclass(frozen=True)
class ArtistIndex:
    """The artists of a track table worked out once: which distinct artists cell each row has,
    and each cell's artist keys as codes into ``keys``. Building it is most of what
    :func:`affinity_features` costs (~0.1 s for the 76k-track catalog, which has 28k cells); with
    it, the features of a whole catalog for one profile take a few milliseconds."""

    rows: np.ndarray  # (n_rows,) the cell of each row
    sizes: np.ndarray  # (n_cells,) artist keys per cell (distinct)
    key_codes: np.ndarray  # the cells' key codes, cell after cell
    keys: dict[str, int]  # artist key -> code

    @classmethod
    def of(cls, tracks: pd.DataFrame) -> ArtistIndex:
        """The index of ``tracks`` (its ``artists`` column)."""
        cells = np.array([str(a) for a in tracks["artists"].to_numpy(dtype=object)], dtype=object)
        rows, distinct = pd.factorize(cells)
        per_cell = [set(track_artist_keys(cell)) for cell in distinct]
        sizes = np.fromiter(map(len, per_cell), dtype=np.int64, count=len(per_cell))
        flat = np.empty(int(sizes.sum()), dtype=object)
        flat[:] = [k for cell_keys in per_cell for k in cell_keys]
        codes, names = pd.factorize(flat)
        keys = dict(zip(names, range(len(names)), strict=True))
        return cls(rows=np.asarray(rows), sizes=sizes, key_codes=codes, keys=keys)

    def weights(self, profile: TasteProfile) -> np.ndarray:
        """The profile's weight of every key, shape (n_keys,); 0 for artists it doesn't know."""
        out = np.zeros(len(self.keys), dtype="float64")
        for key, weight in profile.artist_weight.items():
            code = self.keys.get(key)
            if code is not None:
                out[code] = weight
        return out


def affinity_features(
    tracks: pd.DataFrame,
    profile: TasteProfile,
    self_weight: pd.Series | None = None,
    index: ArtistIndex | None = None,
) -> np.ndarray:
    """Artist affinity of each track, shape (n_tracks, 4).

    ``self_weight`` (per track_id) is subtracted first: a library track must not vouch for itself
    (leave-one-out), or the model would learn "is in the library" instead of "is by an artist the
    listener keeps coming back to".

    Each distinct artists cell is worked out once, and only rows with a self weight of their own
    again. ``index`` is ``ArtistIndex.of(tracks)`` when the caller keeps one (the catalog's).
    """
    out = np.zeros((len(tracks), len(AFFINITY_FEATURES)), dtype="float64")
    if not len(tracks):
        return out
    index = index or ArtistIndex.of(tracks)
    denom = profile.total_weight + ARTIST_ALPHA
    key_weight = index.weights(profile)
    sizes = index.sizes
    counts = key_weight[index.key_codes]
    per_cell = np.zeros((len(sizes), len(AFFINITY_FEATURES)), dtype="float64")
    named = sizes > 0  # a cell without artists keeps zeros
    if named.any():
        starts = np.r_[0, np.cumsum(sizes)[:-1]][named]
        top = np.maximum.reduceat(counts, starts)
        per_cell[named, 0] = top / denom
        per_cell[named, 1] = np.add.reduceat(counts, starts) / denom
        per_cell[named, 2] = np.add.reduceat((counts > 0).astype("float64"), starts) / sizes[named]
        per_cell[named, 3] = np.log1p(top)
    out[:] = per_cell[index.rows]
    if self_weight is not None and len(self_weight):
        ends = np.cumsum(sizes)
        own = self_weight.reindex(tracks.index).to_numpy(dtype="float64")
        for row in np.flatnonzero(~np.isnan(own) & (own != 0.0)):
            cell = index.rows[row]
            weights = key_weight[index.key_codes[ends[cell] - sizes[cell] : ends[cell]]]
            if len(weights):
                left = np.maximum(weights - float(own[row]), 0.0)
                out[row] = (
                    left.max() / denom,
                    left.sum() / denom,
                    np.count_nonzero(left > 0) / len(left),
                    math.log1p(left.max()),
                )
    return out


def base_features(tracks: pd.DataFrame) -> np.ndarray:
    """Audio and descriptive features, shape (n_tracks, 17); NaN where unknown."""
    frame = pd.DataFrame(index=tracks.index)
    derived = {"duration_min", "tempo_folded"}
    for column in (c for c in BASE_FEATURES if c not in derived):
        frame[column] = tracks[column].astype("float64")
    frame["duration_min"] = tracks["duration_ms"].astype("float64") / 60000.0
    frame["tempo_folded"] = fold_tempo(tracks["tempo"].to_numpy())
    return frame[list(BASE_FEATURES)].to_numpy(dtype="float64")


def feature_matrix(
    tracks: pd.DataFrame, profile: TasteProfile, self_weight: pd.Series | None = None
) -> np.ndarray:
    """The full model input, shape (n_tracks, len(FEATURE_NAMES)), float32 with NaN for unknown.

    Rows with a ``self_weight`` are the library's own tracks: left out of their own affinity.
    """
    matrix = np.hstack([base_features(tracks), affinity_features(tracks, profile, self_weight)])
    return matrix.astype("float32")
