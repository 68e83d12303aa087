"""One "why" line per recommended track, from what actually made it rank: artists the listener keeps,
the library track it sounds most like, and how it fits the moment."""

from __future__ import annotations

import numpy as np
import pandas as pd

from recommender.context import MOODS, Context, nearest_tempo
from recommender.features import TasteProfile, fold_tempo, track_artist_keys
from recommender.tracks import split_artists

#: Features (and their scale) that define "sounds like" between two tracks.
SOUND_FEATURES: dict[str, float] = {
    "danceability": 1.0,
    "energy": 1.0,
    "valence": 1.0,
    "acousticness": 1.0,
    "speechiness": 1.0,
    "instrumentalness": 1.0,
    "tempo_folded": 80.0,
    "loudness": 30.0,
}
#: Typical (median catalog) values standing in for unknown ones, on the raw scale.
NEUTRAL_SOUND: dict[str, float] = {
    "danceability": 0.58,
    "energy": 0.68,
    "valence": 0.46,
    "acousticness": 0.17,
    "speechiness": 0.05,
    "instrumentalness": 0.0,
    "tempo_folded": 118.0,
    "loudness": -7.0,
}


def sound_matrix(tracks: pd.DataFrame) -> np.ndarray:
    """Scaled sound features, shape (n_tracks, 8); unknown values take a typical value."""
    frame = pd.DataFrame(index=tracks.index)
    for feature, scale in SOUND_FEATURES.items():
        if feature == "tempo_folded":
            values = fold_tempo(tracks["tempo"].to_numpy())
        else:
            values = tracks[feature].to_numpy(dtype=float)
        frame[feature] = np.where(np.isnan(values), NEUTRAL_SOUND[feature], values) / scale
    return frame.to_numpy(dtype=float)


def nearest_library_tracks(candidates: pd.DataFrame, library: pd.DataFrame) -> list[str | None]:
    """For each candidate, the library track id that sounds most like it (None without a library)."""
    if library.empty or candidates.empty:
        return [None] * len(candidates)
    cand = sound_matrix(candidates)
    lib = sound_matrix(library)
    distances = ((cand[:, None, :] - lib[None, :, :]) ** 2).sum(axis=2)
    return [str(library.index[i]) for i in distances.argmin(axis=1)]


def _context_reason(row: pd.Series, context: Context) -> str:
    bits: list[str] = []
    tempo = float(row["tempo"]) if pd.notna(row["tempo"]) else None
    if context.mood:
        main = next(iter(MOODS[context.mood]))
        value = row.get(main)
        shown = f" ({main} {float(value):.2f})" if pd.notna(value) and main != "tempo" else ""
        bits.append(f"fits “{context.mood}”{shown}")
    if context.bpm and tempo:
        bits.append(f"{nearest_tempo(tempo, context.bpm):.0f} bpm for your {context.bpm:.0f}")
    if context.tempo_band and tempo:
        low, high = context.tempo_band
        heard = nearest_tempo(tempo, (low + high) / 2)
        where = f" for {context.label}" if context.label else ""
        bits.append(f"{heard:.0f} bpm in the {low:.0f}–{high:.0f} target{where}")
    elif context.energy is not None and pd.notna(row["energy"]):
        bits.append(f"energy {float(row['energy']):.2f} for {context.label or 'the target'}")
    return "; ".join(bits)


def reasons(
    picks: pd.DataFrame, library: pd.DataFrame, profile: TasteProfile | None, context: Context
) -> list[str]:
    """A short reason per row of ``picks`` (a track table), in order."""
    nearest = nearest_library_tracks(picks, library)
    out: list[str] = []
    counts = profile.artist_count if profile else {}
    for (_, row), near in zip(picks.iterrows(), nearest, strict=True):
        parts: list[str] = []
        names = split_artists(str(row["artists"]))
        kept = [
            (counts.get(key, 0), name)
            for key, name in zip(track_artist_keys(str(row["artists"])), names, strict=False)
            if counts.get(key, 0) > 0
        ]
        if kept:
            count, name = max(kept)
            parts.append(f"{name} is on {count} track{'s' if count != 1 else ''} you like")
        elif near is not None:
            ref = library.loc[near]
            ref_artist = (split_artists(str(ref["artists"])) or ["?"])[0]
            parts.append(f"sounds like “{ref['name']}” by {ref_artist} from your library")
        else:
            parts.append("popular and close to the middle of the catalog")
        extra = _context_reason(row, context)
        if extra:
            parts.append(extra)
        out.append("; ".join(parts))
    return out
