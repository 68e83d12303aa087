"""One "why" line per recommended track, from what actually made it rank: artists the listener keeps,
the library track it sounds most like, and how it fits the moment."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

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
    return _nearest_with_distance(candidates, library)[0]


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


#: How strong each kind of reason is at best: the artist the listener keeps is the plainest
#: evidence, then a library track it sounds like, then the library's era, tempo and mood.
ARTIST, SOUND, ERA, TEMPO, MOOD = "artist", "sound", "era", "tempo", "mood"
#: A reason kind already used in the list counts this much less each time (a varied list).
REPEAT_DISCOUNT = 0.5
#: Squared sound distance (``sound_matrix`` units) at which "sounds like" is half as strong.
SOUND_HALF = 0.08
#: How close (bpm, folded) to the library's usual tempo a track must be to say so.
TEMPO_NEAR = 4.0
#: What a reason starts with when none of the track's artists is in the listener's library.
NEW_TO_YOU = "new to you: "


@dataclass(frozen=True)
class _LibrarySummary:
    """What the library usually sounds like: its central years, tempo, energy and valence."""

    years: tuple[float, float] | None
    tempo: float | None
    energy: float | None
    valence: float | None

    @classmethod
    def of(cls, library: pd.DataFrame) -> _LibrarySummary:
        def median(column: str) -> float | None:
            if column not in library or library.empty:
                return None
            values = library[column].to_numpy(dtype=float)
            values = values[np.isfinite(values)]
            return float(np.median(values)) if len(values) >= 3 else None

        years = None
        if "release_year" in library and not library.empty:
            known = library["release_year"].to_numpy(dtype=float)
            known = known[np.isfinite(known)]
            if len(known) >= 5:
                years = (float(np.percentile(known, 25)), float(np.percentile(known, 75)))
        tempo = None
        if "tempo" in library and not library.empty:
            folded = fold_tempo(library["tempo"].to_numpy(dtype=float))
            folded = folded[np.isfinite(folded) & (folded > 0)]
            tempo = float(np.median(folded)) if len(folded) >= 3 else None
        return cls(years, tempo, median("energy"), median("valence"))


def _mood_words(energy: float, valence: float) -> str:
    feel = "upbeat" if valence >= 0.5 else "dark"
    drive = "high-energy" if energy >= 0.6 else "laid-back"
    return f"{drive} and {feel}"


def _candidate_reasons(
    row: pd.Series,
    near: str | None,
    distance: float,
    library: pd.DataFrame,
    counts: dict[str, int] | Mapping[str, int],
    summary: _LibrarySummary,
) -> list[tuple[float, str, str]]:
    """(strength, kind, sentence) of every reason that is true of ``row``."""
    out: list[tuple[float, str, str]] = []
    names = split_artists(str(row["artists"]))
    kept = [
        (counts.get(key, 0), name)
        for key, name in zip(track_artist_keys(str(row["artists"])), names, strict=False)
        if counts.get(key, 0) > 0
    ]
    if kept:
        count, name = max(kept)
        out.append(
            (
                0.6 + 0.4 * min(1.0, count / 10),
                ARTIST,
                f"{name} is on {count} track{'s' if count != 1 else ''} you like",
            )
        )
    if near is not None:
        ref = library.loc[near]
        ref_artist = (split_artists(str(ref["artists"])) or ["?"])[0]
        out.append(
            (
                0.2 + 0.38 * SOUND_HALF / (SOUND_HALF + distance),
                SOUND,
                f"sounds like “{ref['name']}” by {ref_artist} from your library",
            )
        )
    year = row.get("release_year")
    if summary.years is not None and pd.notna(year):
        low, high = summary.years
        if low <= float(year) <= high:
            span = f"{low:.0f}–{high:.0f}" if high - low >= 1 else f"{low:.0f}"
            out.append(
                (0.5, ERA, f"from {float(year):.0f}, the era most of your library is from ({span})")
            )
    tempo = row.get("tempo")
    if summary.tempo is not None and pd.notna(tempo) and float(tempo) > 0:
        heard = float(fold_tempo(np.array([float(tempo)]))[0])
        if abs(heard - summary.tempo) <= TEMPO_NEAR:
            out.append(
                (0.45, TEMPO, f"{float(tempo):.0f} bpm, the tempo your library moves at most")
            )
    energy, valence = row.get("energy"), row.get("valence")
    if (
        summary.energy is not None
        and summary.valence is not None
        and pd.notna(energy)
        and pd.notna(valence)
    ):
        words = _mood_words(float(energy), float(valence))
        if words == _mood_words(summary.energy, summary.valence):
            closeness = abs(float(energy) - summary.energy) + abs(float(valence) - summary.valence)
            if closeness <= 0.2:
                out.append((0.4, MOOD, f"{words}, like most of what you save"))
    return out


def reasons(
    picks: pd.DataFrame, library: pd.DataFrame, profile: TasteProfile | None, context: Context
) -> list[str]:
    """A short reason per row of ``picks`` (a track table), in order: the strongest reason that
    is true of the track, a kind already used in the list counting less each time it recurs (so
    a list is not ten times the same sentence), then how it fits the moment (mood, tempo, heart
    zone) when there is one. A track by artists the library lacks says so first ("new to you:
    …")."""
    nearest, distances = _nearest_with_distance(picks, library)
    summary = _LibrarySummary.of(library)
    counts = profile.artist_count if profile else {}
    used: Counter[str] = Counter()
    out: list[str] = []
    for (_, row), near, distance in zip(picks.iterrows(), nearest, distances, strict=True):
        found = _candidate_reasons(row, near, distance, library, counts, summary)
        parts: list[str] = []
        if found:
            _, kind, sentence = max(found, key=lambda r: r[0] * REPEAT_DISCOUNT ** used[r[1]])
            used[kind] += 1
        else:
            sentence = "popular and close to the middle of the catalog"
        if counts and not any(counts.get(k, 0) for k in track_artist_keys(str(row["artists"]))):
            sentence = f"{NEW_TO_YOU}{sentence}"  # a discovery: none of its artists is yours
        parts.append(sentence)
        extra = _context_reason(row, context)
        if extra:
            parts.append(extra)
        out.append("; ".join(parts))
    return out


def _nearest_with_distance(
    candidates: pd.DataFrame, library: pd.DataFrame
) -> tuple[list[str | None], list[float]]:
    """Each candidate's nearest library track in sound and the squared distance to it."""
    if library.empty or candidates.empty:
        return [None] * len(candidates), [float("inf")] * len(candidates)
    distances = (
        (sound_matrix(candidates)[:, None, :] - sound_matrix(library)[None, :, :]) ** 2
    ).sum(axis=2)
    best = distances.argmin(axis=1)
    return (
        [str(library.index[i]) for i in best],
        [float(distances[j, i]) for j, i in enumerate(best)],
    )
