"""Reading an Exportify CSV (exportify.net) into library rows and a track table.

Errors name the row and the column, because the person who sees them is holding the file.
"""

from __future__ import annotations

import csv
import errno
import io
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from recommender.tracks import AUDIO_FEATURES, normalise_tracks
from storage.errors import ImportFormatError

#: The largest Exportify file read, from a path or an upload: Telegram serves files up to 20 MB,
#: and an export of 20,000 songs is about 5 MB. The fronts refuse bigger uploads with this limit.
MAX_BYTES = 20 * 1024 * 1024
#: The most tracks (rows) a file may hold: twice Spotify's 10,000-track playlist limit. Every row
#: costs memory and training time (295,077 tracks once took 559 MB) for no better taste model.
MAX_ROWS = 20_000
#: The longest file or folder name (in bytes) on Linux, macOS and Windows file systems.
NAME_MAX = 255
REQUIRED = ("Track URI", "Track Name", "Artist Name(s)")
_NUMERIC = {
    "Duration (ms)": "duration_ms",
    "Popularity": "popularity",
    "Danceability": "danceability",
    "Energy": "energy",
    "Key": "key",
    "Loudness": "loudness",
    "Mode": "mode",
    "Speechiness": "speechiness",
    "Acousticness": "acousticness",
    "Instrumentalness": "instrumentalness",
    "Liveness": "liveness",
    "Valence": "valence",
    "Tempo": "tempo",
    "Time Signature": "time_signature",
}
_TRACK_URI = re.compile(r"^spotify:track:([A-Za-z0-9]{22})$")
_YEAR = re.compile(r"^\s*(\d{4})")


@dataclass
class ExportifyLibrary:
    """What an Exportify file holds: the tracks and the user's library entries."""

    tracks: pd.DataFrame
    entries: pd.DataFrame  # columns track_id, rank, added_at
    skipped_local: int = 0  # local files and podcast episodes
    duplicates: int = 0
    warnings: list[str] = field(default_factory=list)
    #: Spotify's genres of each track's artists at export time ("Genres": comma-separated, "" when
    #: the export has none), by track id: evidence of genre for artists the catalog does not know.
    genres: dict[str, str] = field(default_factory=dict)


def _decode(raw: bytes, name: str) -> str:
    if b"\x00" in raw[:4096]:
        raise ImportFormatError(f"{name} is a binary file, not an Exportify CSV export.")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportFormatError(
            f"{name} is not UTF-8 text (byte {error.start}); export it again from exportify.net."
        ) from None


def _number(text: str, row: int, column: str) -> float:
    text = text.strip()
    if not text:
        return np.nan
    try:
        value = float(text)
    except ValueError:
        shown = text if len(text) <= 20 else text[:20] + "…"
        raise ImportFormatError(
            f"Row {row}, column '{column}': expected a number, found '{shown}'."
        ) from None
    if not np.isfinite(value):
        raise ImportFormatError(f"Row {row}, column '{column}': the number is not finite.")
    return value


def _explicit(text: str) -> float:
    lowered = text.strip().lower()
    return 1.0 if lowered == "true" else 0.0 if lowered == "false" else np.nan


def parse_exportify(raw: bytes, name: str = "the file") -> ExportifyLibrary:
    """Parse the bytes of an Exportify CSV; ImportFormatError says which row and column is wrong,
    or that the file is over ``MAX_BYTES`` (before any parsing) or ``MAX_ROWS``."""
    if len(raw) > MAX_BYTES:
        raise ImportFormatError(too_large(len(raw), name))
    text = _decode(raw, name)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFormatError(f"{name} is empty.") from None
    except csv.Error as error:
        raise ImportFormatError(f"{name} is not a CSV file: {error}.") from None
    header = [h.strip() for h in header]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ImportFormatError(
            f"{name} is not an Exportify export: missing column(s) {', '.join(missing)}. "
            "Export a playlist or your Liked Songs at exportify.net and send that CSV."
        )
    index = {column: i for i, column in enumerate(header)}
    records: list[dict[str, object]] = []
    entries: list[tuple[str, int, str | None]] = []
    seen: set[str] = set()
    genres: dict[str, str] = {}
    local = duplicates = rows = 0
    row_number = 1
    try:
        for row_number, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue
            rows += 1
            if rows > MAX_ROWS:
                raise ImportFormatError(too_many_rows(name))
            if len(row) < len(header):
                raise ImportFormatError(
                    f"Row {row_number} has {len(row)} columns, the header has {len(header)}."
                )

            def cell(column: str, row: list[str] = row) -> str:
                return row[index[column]] if column in index else ""

            uri = cell("Track URI").strip()
            if uri.startswith(("spotify:local:", "spotify:episode:")):
                local += 1  # local files and podcast episodes: not tracks on Spotify
                continue
            match = _TRACK_URI.match(uri)
            if not match:
                shown = uri if len(uri) <= 40 else uri[:40] + "…"
                raise ImportFormatError(
                    f"Row {row_number}, column 'Track URI': '{shown}' is not a Spotify track URI "
                    "(spotify:track:<22 characters>)."
                )
            track_id = match.group(1)
            if track_id in seen:
                duplicates += 1
                continue
            seen.add(track_id)
            record: dict[str, object] = {
                "track_id": track_id,
                "name": cell("Track Name").strip(),
                "artists": cell("Artist Name(s)").strip(),
                "album": cell("Album Name").strip(),
                "explicit": _explicit(cell("Explicit")),
            }
            for column, target in _NUMERIC.items():
                record[target] = _number(cell(column), row_number, column)
            year = _YEAR.match(cell("Release Date"))
            record["release_year"] = float(year.group(1)) if year else np.nan
            records.append(record)
            genres[track_id] = cell("Genres").strip()
            entries.append((track_id, len(entries) + 1, cell("Added At").strip() or None))
    except csv.Error as error:
        raise ImportFormatError(f"Row {row_number}: the CSV is malformed ({error}).") from None
    if not records:
        raise ImportFormatError(f"{name} holds no Spotify tracks.")
    tracks = normalise_tracks(pd.DataFrame.from_records(records).set_index("track_id"))
    warnings = []
    if tracks[list(AUDIO_FEATURES)].isna().all(axis=1).all():
        warnings.append(
            "The file carries no audio features; tracks outside the catalog will "
            "be scored from what else is known about them."
        )
    return ExportifyLibrary(
        tracks=tracks,
        entries=pd.DataFrame(entries, columns=["track_id", "rank", "added_at"]),
        skipped_local=local,
        duplicates=duplicates,
        warnings=warnings,
        genres=genres,
    )


def too_large(size: int, name: str = "That file") -> str:
    """What the person who sent a file bigger than ``MAX_BYTES`` is told."""
    return (
        f"{name} is {size / 2**20:.1f} MB; the limit is {MAX_BYTES // 2**20} MB "
        f"({MAX_ROWS:,} tracks). Export a smaller playlist at exportify.net and send that."
    )


def too_many_rows(name: str) -> str:
    """What the person who sent a file of more than ``MAX_ROWS`` tracks is told."""
    return (
        f"{name} holds more than {MAX_ROWS:,} tracks; the limit is {MAX_ROWS:,}. Export a "
        "smaller playlist at exportify.net and send that."
    )


def read_exportify(path: str | Path) -> ExportifyLibrary:
    """Read and parse an Exportify CSV file from disk; ImportFormatError says why a path that
    can't be read can't (missing, not a file, a name too long, no permission)."""
    shown = _shown(str(path))
    try:
        file = Path(path).expanduser()
        status = file.stat()
    except RuntimeError:  # "~someone/…" where there is no such user
        raise ImportFormatError(f"There is no file at {shown}: no such home folder.") from None
    except ValueError:  # a NUL character: no file name holds one
        raise ImportFormatError("That path holds a character no file name can have.") from None
    except OSError as error:
        raise ImportFormatError(_unreadable(shown, str(path), error)) from None
    if not stat.S_ISREG(status.st_mode):
        raise ImportFormatError(f"{shown} is not a file.")
    if status.st_size > MAX_BYTES:
        raise ImportFormatError(too_large(status.st_size, file.name))
    try:
        with file.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)  # the file may have grown since
    except OSError as error:
        raise ImportFormatError(_unreadable(shown, str(path), error)) from None
    return parse_exportify(raw, file.name)


def _shown(path: str) -> str:
    """``path`` short enough for a chat message."""
    return path if len(path) <= 80 else f"{path[:45]}…{path[-30:]}"


def _unreadable(shown: str, path: str, error: OSError) -> str:
    """Why the file at ``path`` can't be read, for the person who named it."""
    code = error.errno
    if code == errno.ENOENT:
        return f"There is no file at {shown}."
    if code == errno.ENOTDIR:
        return f"There is no file at {shown}: a part of that path is a file, not a folder."
    if code == errno.ENAMETOOLONG:
        longest = max((len(part.encode()) for part in path.split("/")), default=0)
        if longest > NAME_MAX:
            return (
                f"That file name is too long: one part of the path has {longest} characters, "
                f"and a file or folder name has at most {NAME_MAX}."
            )
        return f"That path is too long to be a file on this machine ({len(path)} characters)."
    if code in (errno.EACCES, errno.EPERM):
        return (
            f"I can't read {shown}: permission denied. Make the file and its folders readable "
            "by the user beatmatch runs as."
        )
    return f"I can't read {shown}: {error.strerror or error}."
