"""Importing a catalog file (path or URL) into the database, idempotently, with progress."""

from __future__ import annotations

import hashlib
import logging
import shutil
import urllib.request
from collections.abc import Callable
from pathlib import Path

from storage.catalog_csv import read_catalog
from storage.database import Storage
from storage.errors import ImportFormatError

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]
SOURCE_KEY = "catalog_source"


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
) -> dict[str, int]:
    """Import the catalog at ``location``; with ``force=False`` skip it if already imported."""
    path = fetch_catalog(location, data_dir) if is_url(location) else Path(location).expanduser()
    if not path.is_file():
        raise ImportFormatError(f"No catalog file at {path}.")
    signature = source_signature(path)
    if (
        not force
        and storage.meta.get(SOURCE_KEY) == signature
        and storage.tracks.catalog_size() > 0
    ):
        return {"tracks": storage.tracks.catalog_size(), "genre_labels": -1, "skipped": 1}
    tracks, genres = read_catalog(path)
    if tracks.empty:
        raise ImportFormatError(f"{path.name} holds no tracks.")
    result = storage.tracks.replace_catalog(tracks, genres, progress=progress)
    storage.meta.set(SOURCE_KEY, signature)
    log.info(
        "imported catalog %s: %d tracks, %d genre labels",
        path.name,
        result["tracks"],
        result["genre_labels"],
    )
    return result
