"""The shape of a track table: the columns every recommender module reads.

A *track table* is a ``pandas.DataFrame`` indexed by Spotify track id (``track_id``) with the columns
below. Unknown values are ``NaN`` (never 0 or -1): a catalog tempo of 0, a key of -1 and a time
signature of 0 or 1 all mean "unknown" and are stored as missing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Audio features on Spotify's scale, as the catalog CSV, Exportify and ReccoBeats give them.
AUDIO_FEATURES: tuple[str, ...] = (
    "danceability",
    "energy",
    "key",
    "loudness",
    "mode",
    "speechiness",
    "acousticness",
    "instrumentalness",
    "liveness",
    "valence",
    "tempo",
    "time_signature",
)

#: The 15 numeric columns of the Kaggle catalog that the original projects fed to RF+XGB.
KAGGLE_NUMERIC: tuple[str, ...] = ("popularity", "duration_ms", "explicit", *AUDIO_FEATURES)

#: Descriptive columns (strings; ``artists`` is ";"-separated).
TEXT_COLUMNS: tuple[str, ...] = ("name", "artists", "album")

#: Every column of a track table, in order. ``release_year`` is NaN when unknown.
TRACK_COLUMNS: tuple[str, ...] = (*TEXT_COLUMNS, *KAGGLE_NUMERIC, "release_year")


def empty_tracks() -> pd.DataFrame:
    """An empty track table with the right columns and dtypes."""
    frame = pd.DataFrame(
        {c: pd.Series(dtype="object" if c in TEXT_COLUMNS else "float64") for c in TRACK_COLUMNS}
    )
    frame.index.name = "track_id"
    return frame


def normalise_tracks(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with every track column present, numeric columns as float, quirks as NaN.

    Catalog quirks: tempo 0, key -1 and time signature 0 or 1 mean unknown.
    """
    out = frame.copy()
    for column in TRACK_COLUMNS:
        if column not in out.columns:
            out[column] = "" if column in TEXT_COLUMNS else np.nan
    for column in TEXT_COLUMNS:
        out[column] = out[column].astype("object").fillna("").astype(str)
    out["explicit"] = out["explicit"].map(_truth).astype("float64")
    for column in (*KAGGLE_NUMERIC, "release_year"):
        out[column] = pd.to_numeric(out[column], errors="coerce").astype("float64")
    out.loc[out["tempo"] <= 0, "tempo"] = np.nan
    out.loc[out["key"] < 0, "key"] = np.nan
    out.loc[out["time_signature"] <= 1, "time_signature"] = np.nan
    out = out[list(TRACK_COLUMNS)]
    out.index.name = "track_id"
    return out


def track_row(tracks: pd.DataFrame, track_id: str) -> pd.Series:
    """One track's row of a track table (KeyError if absent)."""
    row = tracks.loc[track_id]
    if isinstance(row, pd.DataFrame):  # a duplicated index: take the first
        row = row.iloc[0]
    return row


def _truth(value: object) -> float:
    """1.0 / 0.0 for the booleans a CSV may spell as True/false/1/0; NaN for anything else."""
    if isinstance(value, bool | np.bool_):
        return float(value)
    text = str(value).strip().lower()
    if text in ("true", "1", "1.0", "yes"):
        return 1.0
    if text in ("false", "0", "0.0", "no"):
        return 0.0
    return float("nan")


def split_artists(artists: str) -> list[str]:
    """The artists of a ";"-separated artists cell, trimmed, without empties."""
    return [a.strip() for a in str(artists).split(";") if a.strip()]
