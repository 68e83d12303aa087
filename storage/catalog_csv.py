"""Reading a catalog in the Kaggle "Spotify Tracks Dataset" format (CSV or CSV.gz).

Pandya (2022) Spotify Tracks Dataset, doi:10.34740/KAGGLE/DSV/4372070 (ODbL) defines the columns.
A track may appear in several rows, one per genre label.
"""

from __future__ import annotations

import codecs
import gzip
import io
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from recommender.tracks import AUDIO_FEATURES, normalise_tracks
from storage.errors import ImportFormatError

log = logging.getLogger(__name__)

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


@dataclass(frozen=True)
class Bounds:
    """The values a numeric column may hold (inclusive), and whether only whole numbers."""

    low: float
    high: float
    whole: bool = False


#: What each numeric cell may hold. Audio features: the ranges of Spotify's AudioFeaturesObject
#: (shared/reference/spotify-openapi.yml), widened by the catalog's "unknown" quirks (tempo 0,
#: key -1, time signature 0 or 1). Tempo: 0 or up to 300 bpm (the catalog's fastest is ~243).
#: Loudness: -100 dB (below 16-bit audio's -96 dB floor) to +10 dB (past full scale).
#: Duration: up to a day. A blank cell means "unknown" and is kept as such.
BOUNDS: dict[str, Bounds] = {
    "popularity": Bounds(0, 100),
    "duration_ms": Bounds(0, 24 * 3600 * 1000),
    "danceability": Bounds(0, 1),
    "energy": Bounds(0, 1),
    "key": Bounds(-1, 11, whole=True),
    "loudness": Bounds(-100, 10),
    "mode": Bounds(0, 1, whole=True),
    "speechiness": Bounds(0, 1),
    "acousticness": Bounds(0, 1),
    "instrumentalness": Bounds(0, 1),
    "liveness": Bounds(0, 1),
    "valence": Bounds(0, 1),
    "tempo": Bounds(0, 300),
    "time_signature": Bounds(0, 7, whole=True),
}
_EXPLICIT = {"true", "false", "1", "0", "1.0", "0.0", "yes", "no", ""}


@dataclass(frozen=True)
class Rejected:
    """Rows of a catalog file left out, counted by their first problem (in column order)."""

    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        """How many rows were left out."""
        return sum(self.reasons.values())

    def summary(self) -> str:
        """E.g. "rejected 12 rows: 9 with a non-numeric tempo, 3 with an infinite tempo"."""
        if not self.rows:
            return "rejected no rows"
        parts = ", ".join(f"{n:,} with {reason}" for reason, n in self.reasons.items())
        return f"rejected {self.rows:,} row{'s' if self.rows != 1 else ''}: {parts}"


@dataclass(frozen=True)
class CatalogFile:
    """A catalog file read and checked: its track table, genre labels and rows left out."""

    tracks: pd.DataFrame
    genres: pd.DataFrame
    rejected: Rejected


def _open_binary(path: Path) -> gzip.GzipFile | io.BufferedReader:
    with path.open("rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gzipped else path.open("rb")


def _undecodable(path: Path) -> str:
    """Where the first byte that is not UTF-8 is: "byte 0xE9 at offset 1,234 (line 17)"."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    consumed = lines = 0
    with _open_binary(path) as handle:
        while True:
            chunk = handle.read(1 << 20)
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as error:
                offset = consumed - pending + error.start
                lines += chunk[: max(0, error.start - pending)].count(b"\n")
                bad = error.object[error.start]
                return f"byte 0x{bad:02X} at offset {offset:,} (line {lines + 1:,})"
            if not chunk:
                return "an undecodable byte"
            consumed += len(chunk)
            lines += chunk.count(b"\n")


def read_catalog_rows(path: str | Path) -> pd.DataFrame:
    """The rows of a catalog file that have a track id (as strings/numbers, unchecked)."""
    rows = _read_rows(path)
    return rows[rows["track_id"].str.len() > 0]


def _read_rows(path: str | Path) -> pd.DataFrame:
    """All rows of a catalog file with the Kaggle columns (as strings/numbers, unnormalised).

    The file must be UTF-8 (with or without a BOM): one that is not is refused, naming the first
    byte that is not, since a file in another encoding would otherwise lose every row with an
    accent in it.
    """
    path = Path(path)
    if not path.is_file():
        raise ImportFormatError(f"No catalog file at {path}.")
    try:
        with io.TextIOWrapper(_open_binary(path), encoding="utf-8-sig", newline="") as handle:
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
    except UnicodeDecodeError:
        raise ImportFormatError(
            f"{path.name} is not UTF-8 text: {_undecodable(path)} is not UTF-8. Save the file "
            "as UTF-8 (e.g. `iconv -f latin1 -t utf-8`) and import it again."
        ) from None
    except (pd.errors.ParserError, gzip.BadGzipFile, EOFError) as error:
        raise ImportFormatError(f"{path.name} is not a readable CSV file: {error}") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in rows.columns]
    if missing:
        raise ImportFormatError(
            f"{path.name} is not a catalog in the Spotify Tracks Dataset format: "
            f"missing column(s) {', '.join(missing)}."
        )
    return rows.drop(columns=[c for c in rows.columns if c.startswith("Unnamed")])


def check_rows(rows: pd.DataFrame) -> tuple[pd.DataFrame, Rejected]:
    """The rows fit to import (numeric columns as float, blanks as NaN) and those left out.

    A row is left out when it has no track id, a numeric cell that is not a number, is infinite
    or is out of ``BOUNDS``, or an explicit flag that is not true/false.
    """
    bad = np.zeros(len(rows), dtype=bool)
    reasons: dict[str, int] = {}
    converted: dict[str, np.ndarray] = {}

    def reject(mask: np.ndarray, reason: str) -> None:
        new = int((mask & ~bad).sum())
        if new:
            reasons[reason] = reasons.get(reason, 0) + new
        bad[mask] = True

    reject(~(rows["track_id"].str.len() > 0).to_numpy(), "no track id")
    for column, bounds in BOUNDS.items():
        label = column.removesuffix("_ms").replace("_", " ")
        cells = rows[column]
        if pd.api.types.is_numeric_dtype(cells):
            values = cells.to_numpy(dtype="float64")
        else:
            text = cells.astype(str).str.strip()
            values = pd.to_numeric(text, errors="coerce").to_numpy(dtype="float64")
            reject((np.isnan(values) & (text != "")).to_numpy(), f"a non-numeric {label}")
            converted[column] = values
        reject(np.isinf(values), f"an infinite {label}")
        finite = np.where(np.isfinite(values), values, bounds.low)
        span = f"{_number(bounds.low)} to {_number(bounds.high)}"
        reject(
            (finite < bounds.low) | (finite > bounds.high),
            f"{_a(label)} {label} out of range ({span})",
        )
        if bounds.whole:
            reject(finite != np.round(finite), f"{_a(label)} {label} that is not a whole number")
    flags = rows["explicit"].astype(str).str.strip().str.lower()
    reject(~flags.isin(_EXPLICIT).to_numpy(), "an explicit flag other than true or false")
    if converted:
        rows = rows.assign(**converted)
    return rows[~bad], Rejected(reasons)


def _a(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _number(value: float) -> str:
    return f"{int(value):,}" if value == int(value) else f"{value:g}"


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


def read_checked_catalog(path: str | Path) -> CatalogFile:
    """Read a catalog file, leaving out (and counting) the rows that are not fit to import."""
    kept, rejected = check_rows(_read_rows(path))
    tracks, genres = split_catalog(kept)
    return CatalogFile(tracks, genres, rejected)


def read_catalog(path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read a catalog file: (track table, genre labels); rows not fit to import are left out
    with a warning."""
    catalog = read_checked_catalog(path)
    if catalog.rejected.rows:
        log.warning("%s: %s", Path(path).name, catalog.rejected.summary())
    return catalog.tracks, catalog.genres
