"""Context fit: how well a track suits the moment (a mood, a tempo, a heart-rate zone), in [0, 1]."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: mood → {feature: (target, tolerance)}; a track at the target scores 1, one tolerance away ≈ 0.6.
MOODS: Mapping[str, Mapping[str, tuple[float, float]]] = {
    "energetic": {"energy": (0.88, 0.12), "danceability": (0.65, 0.25), "tempo": (132, 18)},
    "calm": {"energy": (0.25, 0.15), "acousticness": (0.75, 0.3), "loudness": (-14, 5)},
    "happy": {"valence": (0.82, 0.15), "energy": (0.65, 0.25), "mode": (1, 0.8)},
    "sad": {"valence": (0.18, 0.15), "energy": (0.35, 0.2), "mode": (0, 0.8)},
    "party": {"danceability": (0.82, 0.12), "energy": (0.78, 0.15), "valence": (0.65, 0.25)},
    "focus": {"instrumentalness": (0.75, 0.3), "speechiness": (0.03, 0.05), "energy": (0.40, 0.2)},
    "chill": {
        "energy": (0.40, 0.15),
        "valence": (0.5, 0.25),
        "acousticness": (0.5, 0.3),
        "tempo": (95, 20),
    },
    "workout": {"energy": (0.85, 0.12), "tempo": (135, 12), "danceability": (0.65, 0.25)},
}
#: A context chooses among the best-by-taste TASTE_POOL_SHARE of the candidates (at least
#: TASTE_POOL_MIN of them) before any other track: a mood re-ranks taste, it does not replace it.
TASTE_POOL_SHARE = 0.01
TASTE_POOL_MIN = 300
#: Within that pool, the weight of the context fit against the taste rank.
CONTEXT_WEIGHT = 0.6
#: Outside it, a track keeps at least this share of its taste score however badly it fits.
CONTEXT_FLOOR = 0.25

MOOD_ALIASES: Mapping[str, str] = {
    "energy": "energetic",
    "hype": "energetic",
    "relax": "calm",
    "relaxed": "calm",
    "joyful": "happy",
    "upbeat": "happy",
    "melancholic": "sad",
    "dance": "party",
    "study": "focus",
    "concentrate": "focus",
    "chilled": "chill",
    "gym": "workout",
    "run": "workout",
    "running": "workout",
}


@dataclass(frozen=True)
class Context:
    """What the moment asks of the music; every part optional."""

    mood: str | None = None
    bpm: float | None = None  # a wanted tempo; octave-folded matches count
    tempo_band: tuple[float, float] | None = None  # from a heart-rate zone or cadence
    energy: float | None = None  # from a heart-rate zone
    label: str = ""  # e.g. "your heart rate 142 bpm (vigorous)" — said in the reasons

    @property
    def empty(self) -> bool:
        """True when nothing constrains the music."""
        return (
            self.mood is None
            and self.bpm is None
            and self.tempo_band is None
            and self.energy is None
        )


def canonical_mood(text: str) -> str | None:
    """The mood name for user text ("Happy", "gym" → "happy", "workout"), or None if unknown."""
    word = text.strip().lower()
    if word in MOODS:
        return word
    return MOOD_ALIASES.get(word)


def _closeness(values: np.ndarray, target: float, tolerance: float) -> np.ndarray:
    """Gaussian closeness in [0, 1]; NaN values score a neutral 0.5."""
    score = np.exp(-0.5 * ((values - target) / tolerance) ** 2)
    return np.where(np.isnan(values), 0.5, score)


def tempo_closeness(tempo: np.ndarray, target: float, tolerance: float) -> np.ndarray:
    """Closeness of tempo to ``target`` after trying r, 2r and r/2 (octave errors are common)."""
    tempo = np.asarray(tempo, dtype=float)
    best = np.minimum(
        np.abs(tempo - target),
        np.minimum(np.abs(tempo * 2.0 - target), np.abs(tempo / 2.0 - target)),
    )
    return _closeness(best, 0.0, tolerance)


def context_fit(tracks: pd.DataFrame, context: Context) -> np.ndarray:
    """Fit of each track to ``context``, shape (n_tracks,), in [0, 1] (1 when context is empty)."""
    parts: list[np.ndarray] = []
    if context.mood is not None:
        for feature, (target, tolerance) in MOODS[context.mood].items():
            values = tracks[feature].to_numpy(dtype=float)
            if feature == "tempo":
                parts.append(tempo_closeness(values, target, tolerance))
            else:
                parts.append(_closeness(values, target, tolerance))
    tempo = tracks["tempo"].to_numpy(dtype=float)
    if context.bpm is not None:
        parts.append(tempo_closeness(tempo, context.bpm, 6.0))
    if context.tempo_band is not None:
        low, high = context.tempo_band
        middle, half = (low + high) / 2.0, max((high - low) / 2.0, 3.0)
        parts.append(tempo_closeness(tempo, middle, half))
    if context.energy is not None:
        parts.append(_closeness(tracks["energy"].to_numpy(dtype=float), context.energy, 0.15))
    if not parts:
        return np.ones(len(tracks))
    with np.errstate(invalid="ignore"):
        return np.asarray(np.mean(parts, axis=0), dtype=float)


def within_taste(taste_pct: np.ndarray, fit: np.ndarray) -> np.ndarray:
    """Taste first, then the moment: scores in [0, 1] from taste percentiles and context fits.

    The :func:`taste_pool` best tracks by taste (the pool a mood may choose from) score in
    (0.5, 1], ordered by a blend of their fit and their taste rank among themselves; every other
    track scores at most 0.5, its percentile scaled by its fit above :data:`CONTEXT_FLOOR`. So a
    mood or a tempo re-ranks what the listener's taste model already rates well and never trades
    taste for fit: a perfect-tempo track the model rates poorly stays below every liked one.
    """
    pct = np.asarray(taste_pct, dtype=float)
    fit = np.asarray(fit, dtype=float)
    n = len(pct)
    pool = np.zeros(n, dtype=bool)
    pool[np.argsort(-pct, kind="stable")[: taste_pool(n)]] = True
    outside = 0.5 * pct * (CONTEXT_FLOOR + (1.0 - CONTEXT_FLOOR) * fit)
    rank = np.zeros(n)
    if pool.any():
        inside = pct[pool]
        rank[pool] = (np.argsort(np.argsort(inside, kind="stable"), kind="stable") + 1) / len(
            inside
        )
    blended = CONTEXT_WEIGHT * fit + (1.0 - CONTEXT_WEIGHT) * rank
    return np.where(pool, 0.5 + 0.5 * blended, outside)


def taste_pool(n: int) -> int:
    """How many of ``n`` candidates, best by taste, a context chooses among."""
    return min(n, max(TASTE_POOL_MIN, round(TASTE_POOL_SHARE * n)))


def nearest_tempo(tempo: float, target: float) -> float:
    """Of tempo, 2·tempo and tempo/2, the one nearest ``target`` (how a listener hears it)."""
    options = [tempo, tempo * 2.0, tempo / 2.0]
    return float(min(options, key=lambda v: abs(v - target)))
