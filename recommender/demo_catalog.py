"""A small synthetic catalog for first runs, before the operator imports a real one.

Everything here is invented: names, artists and ids (which start with "demo" and open nothing on
Spotify). Genre feature profiles are rough hand-made sketches so that the demo behaves plausibly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recommender.tracks import normalise_tracks

DEMO_ID_PREFIX = "demo"
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

# genre: (danceability, energy, loudness dB, speechiness, acousticness, instrumentalness,
#         valence, tempo bpm, popularity)
_GENRES: dict[str, tuple[float, ...]] = {
    "pop": (0.68, 0.68, -6.0, 0.06, 0.20, 0.01, 0.55, 118, 55),
    "rock": (0.50, 0.80, -5.5, 0.05, 0.08, 0.05, 0.50, 126, 45),
    "hip-hop": (0.78, 0.65, -6.5, 0.25, 0.15, 0.01, 0.50, 95, 50),
    "edm": (0.66, 0.88, -4.5, 0.07, 0.03, 0.40, 0.42, 128, 45),
    "drum-and-bass": (0.55, 0.92, -4.0, 0.08, 0.02, 0.45, 0.35, 174, 35),
    "acoustic": (0.55, 0.32, -10.5, 0.04, 0.80, 0.02, 0.45, 105, 40),
    "classical": (0.30, 0.15, -21.0, 0.05, 0.95, 0.85, 0.25, 95, 30),
    "jazz": (0.58, 0.35, -12.0, 0.06, 0.70, 0.30, 0.55, 110, 30),
    "metal": (0.40, 0.94, -4.5, 0.09, 0.01, 0.15, 0.30, 135, 35),
    "latin": (0.74, 0.74, -5.5, 0.09, 0.25, 0.01, 0.75, 104, 50),
    "ambient": (0.30, 0.18, -20.0, 0.04, 0.80, 0.90, 0.15, 82, 25),
    "r-n-b": (0.68, 0.55, -7.0, 0.10, 0.25, 0.01, 0.50, 100, 45),
}
_WORDS_A = (
    "Neon",
    "Velvet",
    "Paper",
    "Golden",
    "Midnight",
    "Silver",
    "Electric",
    "Quiet",
    "Wild",
    "Crystal",
    "Hollow",
    "Broken",
    "Endless",
    "Lunar",
    "Solar",
    "Faded",
)
_WORDS_B = (
    "Harbor",
    "Signal",
    "Garden",
    "Engine",
    "River",
    "Mirror",
    "Highway",
    "Echo",
    "Lantern",
    "Orbit",
    "Avenue",
    "Summer",
    "Static",
    "Tide",
    "Machine",
    "Heart",
)
_ARTIST_A = ("The", "Little", "Big", "DJ", "MC", "Lady", "Saint", "Captain", "Doctor", "Young")
_ARTIST_B = (
    "Foxes",
    "Parade",
    "Circuit",
    "Nomad",
    "Atlas",
    "Comet",
    "Marlow",
    "Juniper",
    "Vesper",
    "Cobalt",
    "Ember",
    "Halcyon",
    "Nova",
    "Sable",
    "Tundra",
    "Quasar",
)


def demo_track_id(number: int) -> str:
    """A 22-character id that is clearly not Spotify's: "demo" + the number in base 62."""
    digits = []
    value = number
    while True:
        value, rest = divmod(value, 62)
        digits.append(_ALPHABET[rest])
        if value == 0:
            break
    return DEMO_ID_PREFIX + "".join(reversed(digits)).rjust(18, "0")


def is_demo_track(track_id: str) -> bool:
    """True for ids made by ``demo_track_id``."""
    return track_id.startswith(DEMO_ID_PREFIX) and len(track_id) == 22


def demo_catalog(size: int = 3000, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(track table, genre labels) of ``size`` invented tracks over 12 genres; deterministic."""
    rng = np.random.default_rng(seed)
    genres = list(_GENRES)
    artists_per_genre = max(3, size // (len(genres) * 12))
    records, labels = [], []
    for number in range(size):
        genre = genres[number % len(genres)]
        dance, energy, loud, speech, acoustic, instr, valence, tempo, pop = _GENRES[genre]
        artist_no = int(rng.integers(artists_per_genre))
        artist = (
            f"{_ARTIST_A[(artist_no + genres.index(genre)) % len(_ARTIST_A)]} "
            f"{_ARTIST_B[(artist_no * 7 + genres.index(genre) * 3) % len(_ARTIST_B)]}"
        )
        artist += f" ({genre.title()} {artist_no + 1})"
        name = f"{rng.choice(_WORDS_A)} {rng.choice(_WORDS_B)}"
        track_id = demo_track_id(number)
        records.append(
            {
                "track_id": track_id,
                "name": name,
                "artists": artist,
                "album": f"{name} (demo)",
                "popularity": float(np.clip(rng.normal(pop, 12), 0, 100)),
                "duration_ms": float(np.clip(rng.normal(210_000, 40_000), 90_000, 480_000)),
                "explicit": float(rng.random() < (0.35 if genre == "hip-hop" else 0.05)),
                "danceability": _unit(rng.normal(dance, 0.10)),
                "energy": _unit(rng.normal(energy, 0.10)),
                "key": float(rng.integers(12)),
                "loudness": float(min(rng.normal(loud, 2.0), 0.0)),
                "mode": float(rng.random() < 0.6),
                "speechiness": _unit(rng.normal(speech, 0.04)),
                "acousticness": _unit(rng.normal(acoustic, 0.12)),
                "instrumentalness": _unit(rng.normal(instr, 0.15)),
                "liveness": _unit(rng.gamma(2.0, 0.08)),
                "valence": _unit(rng.normal(valence, 0.15)),
                "tempo": float(np.clip(rng.normal(tempo, 8), 60, 200)),
                "time_signature": 4.0,
            }
        )
        labels.append((track_id, genre))
    tracks = normalise_tracks(pd.DataFrame.from_records(records).set_index("track_id"))
    return tracks, pd.DataFrame(labels, columns=["track_id", "genre"])


def _unit(value: float) -> float:
    return float(np.clip(value, 0.0, 1.0))
