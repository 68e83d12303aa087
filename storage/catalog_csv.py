"""Reading a catalog in the Kaggle "Spotify Tracks Dataset" format (CSV or CSV.gz).

Pandya (2022) Spotify Tracks Dataset, doi:10.34740/KAGGLE/DSV/4372070 (ODbL) defines the columns.
A track may appear in several rows, one per genre label.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd

from recommender.tracks import AUDIO_FEATURES, normalise_tracks
from storage.errors import ImportFormatError

#: The file's columns, in its order (one row per track and genre label).
REQUIRED_COLUMNS: tuple[str, ...] = (
    "track_id",
    "artists",
    "album_name",
    "track_name",
    "popularity",
    "duration_ms",
    "explicit",
    *AUDIO_FEATURES,
    "track_genre",
)
_RENAMES = {"track_name": "name", "album_name": "album"}


def _open_text(path: Path):
    with path.open("rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    if gzipped:
        return gzip.open(path, "rt", encoding="utf-8", errors="replace", newline="")
    return path.open("r", encoding="utf-8", errors="replace", newline="")


def read_catalog_rows(path: str | Path) -> pd.DataFrame:
    """All rows of a catalog file with the Kaggle columns (as strings/numbers, unnormalised)."""
    path = Path(path)
    if not path.is_file():
        raise ImportFormatError(f"No catalog file at {path}.")
    try:
        with _open_text(path) as handle:
            rows = pd.read_csv(
                handle,
                dtype={
                    "track_id": str,
                    "artists": str,
                    "album_name": str,
                    "track_name": str,
                    "track_genre": str,
                },
                keep_default_na=False,
                na_values={"popularity": [""]},
            )
    except pd.errors.EmptyDataError:
        raise ImportFormatError(f"{path.name} is empty.") from None
    except (UnicodeDecodeError, pd.errors.ParserError, gzip.BadGzipFile, EOFError) as error:
        raise ImportFormatError(f"{path.name} is not a readable CSV file: {error}") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in rows.columns]
    if missing:
        raise ImportFormatError(
            f"{path.name} is not a catalog in the Spotify Tracks Dataset format: "
            f"missing column(s) {', '.join(missing)}."
        )
    rows = rows[rows["track_id"].str.len() > 0]
    return rows.drop(columns=[c for c in rows.columns if c.startswith("Unnamed")])


def split_catalog(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(track table indexed by track_id, genre labels with columns track_id and genre)."""
    genres = (
        rows[["track_id", "track_genre"]]
        .rename(columns={"track_genre": "genre"})
        .query("genre != ''")
        .drop_duplicates()
        .reset_index(drop=True)
    )
    tracks = rows.drop_duplicates("track_id").rename(columns=_RENAMES).set_index("track_id")
    return normalise_tracks(tracks.drop(columns=["track_genre"])), genres


def read_catalog(path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read a catalog file: (track table, genre labels)."""
    return split_catalog(read_catalog_rows(path))
