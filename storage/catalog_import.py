"""Importing a catalog file (path or URL) into the database, idempotently, with progress."""

from __future__ import annotations

import hashlib
import logging
import shutil
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TypedDict

from storage.catalog_csv import read_checked_catalog
from storage.catalog_staging import SOURCE_KEY
from storage.database import Storage
from storage.errors import ImportFormatError

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]
__all__ = ["SOURCE_KEY", "ImportResult", "import_catalog"]


class ImportResult(TypedDict, total=False):
    """What an import did: tracks and genre labels stored; ``skipped`` (1) when the file was
    imported already; ``rejected_rows`` and ``rejected`` (e.g. "rejected 12 rows: 9 with a
    non-numeric tempo, 3 with an infinite tempo") only when rows were left out."""

    tracks: int
    genre_labels: int
    skipped: int
    rejected_rows: int
    rejected: str


def is_url(location: str) -> bool:
    """True for http(s) locations."""
    return location.lower().startswith(("http://", "https://"))


def fetch_catalog(url: str, data_dir: Path, timeout: float = 60.0) -> Path:
    """Download a catalog URL into the data directory (once per URL) and return the local path."""
    name = "catalog-" + hashlib.sha256(url.encode()).hexdigest()[:12] + ".csv"
    target = data_dir / name
    if target.is_file():
        return target
    data_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, partial.open("wb") as out:  # noqa: S310 - operator-given URL
            shutil.copyfileobj(response, out)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise ImportFormatError(f"Could not download the catalog from {url}: {error}") from None
    partial.replace(target)
    return target


def source_signature(path: Path) -> str:
    """Identifies a catalog file's version: its path, size and modification time."""
    stat = path.stat()
    return f"{path.resolve()}|{stat.st_size}|{int(stat.st_mtime)}"


def import_catalog(
    storage: Storage,
    location: str,
    data_dir: Path,
    progress: Progress | None = None,
    force: bool = True,
) -> ImportResult:
    """Import the catalog at ``location``; with ``force=False`` skip it if already imported.

    Rows that are not fit to import (a value that is not a number, infinite or out of range)
    are left out and counted; a file that is not UTF-8 is refused. The swap into the database
    is atomic (``TrackStore.replace_catalog``): a failed or killed import leaves the previous
    catalog as it was.
    """
    path = fetch_catalog(location, data_dir) if is_url(location) else Path(location).expanduser()
    if not path.is_file():
        raise ImportFormatError(f"No catalog file at {path}.")
    signature = source_signature(path)
    if (
        not force
        and storage.meta.get(SOURCE_KEY) == signature
        and storage.tracks.catalog_size() > 0
    ):
        return ImportResult(tracks=storage.tracks.catalog_size(), genre_labels=-1, skipped=1)
    catalog = read_checked_catalog(path)
    rejected = catalog.rejected
    if catalog.tracks.empty:
        why = f" ({rejected.summary()})" if rejected.rows else ""
        raise ImportFormatError(f"{path.name} holds no tracks{why}.")
    stored = storage.tracks.replace_catalog(
        catalog.tracks, catalog.genres, progress=progress, source=signature
    )
    result = ImportResult(tracks=stored["tracks"], genre_labels=stored["genre_labels"])
    if rejected.rows:
        result["rejected_rows"] = rejected.rows
        result["rejected"] = rejected.summary()
        log.warning("catalog %s: %s", path.name, rejected.summary())
    log.info(
        "imported catalog %s: %d tracks, %d genre labels",
        path.name,
        result["tracks"],
        result["genre_labels"],
    )
    return result
