"""The feature matrix the taste model sees: audio features plus what the user's library says about a track.

Every feature is computed from what a track *is* (its audio features, its artists, its names) and
from the user's training library, never from where its row came from. Values a source lacks stay
missing (the catalog never has a release year, ReccoBeats no popularity); the taste model then
equalises how often each feature is missing among its positives and negatives
(``recommender.taste.match_missingness``), so "is missing" can never stand for "came from the file".
"""

from __future__ import annotations

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


def affinity_features(
    tracks: pd.DataFrame, profile: TasteProfile, self_weight: pd.Series | None = None
) -> np.ndarray:
    """Artist affinity of each track, shape (n_tracks, 4).

    ``self_weight`` (per track_id) is subtracted first: a library track must not vouch for itself
    (leave-one-out), or the model would learn "is in the library" instead of "is by an artist the
    listener keeps coming back to".
    """
    out = np.zeros((len(tracks), len(AFFINITY_FEATURES)), dtype="float64")
    denom = profile.total_weight + ARTIST_ALPHA
    weights = profile.artist_weight
    for row, (track_id, artists) in enumerate(tracks["artists"].items()):
        keys = set(track_artist_keys(artists))
        if not keys:
            continue
        own = 0.0 if self_weight is None else float(self_weight.get(track_id, 0.0))
        counts = [max(weights.get(k, 0.0) - own, 0.0) for k in keys]
        out[row, 0] = max(counts) / denom
        out[row, 1] = sum(counts) / denom
        out[row, 2] = sum(1 for c in counts if c > 0) / len(counts)
        out[row, 3] = np.log1p(max(counts))
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
