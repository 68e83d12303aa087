"""The genre model's file: one NumPy ``.npz`` archive of plain arrays plus a JSON header. No pickle.

The header names the format and its version, so a file from another program, or from a beatmatch
whose model layout has changed, is refused with a clear message instead of mispredicting.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from recommender.genre_text import HASH_FEATURES, NGRAM_RANGE
from recommender.tracks import KAGGLE_NUMERIC

FORMAT_NAME = "beatmatch-genre-classifier"
FORMAT_VERSION = 1


class GenreModelFormatError(ValueError):
    """A file that is not a genre model this version of beatmatch can read."""


def _layout() -> dict[str, Any]:
    """What a model's arrays depend on besides its own weights."""
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "numeric_features": list(KAGGLE_NUMERIC),
        "hash_features": HASH_FEATURES,
        "ngram_range": list(NGRAM_RANGE),
    }


def write_model(path: Path, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` and ``meta`` (JSON-ready) to ``path`` atomically."""
    header = json.dumps({**_layout(), **meta}, sort_keys=True).encode("utf-8")
    payload = {"header": np.frombuffer(header, dtype=np.uint8), **arrays}
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as handle:  # a file object: np.savez must not append ".npz"
        np.savez_compressed(handle, **payload)  # type: ignore[arg-type]
    os.replace(partial, path)


def read_model(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(header, arrays) of a file written by :func:`write_model`; GenreModelFormatError if not."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (zipfile.BadZipFile, ValueError, EOFError) as error:
        raise GenreModelFormatError(
            f"{path.name} is not a beatmatch genre model ({error})."
        ) from None
    if "header" not in arrays:
        raise GenreModelFormatError(f"{path.name} is not a beatmatch genre model (no header).")
    try:
        header = json.loads(arrays.pop("header").tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise GenreModelFormatError(f"{path.name} has an unreadable header ({error}).") from None
    expected = _layout()
    if header.get("format") != FORMAT_NAME:
        raise GenreModelFormatError(f"{path.name} is not a beatmatch genre model.")
    if header.get("version") != FORMAT_VERSION:
        raise GenreModelFormatError(
            f"{path.name} is a genre model of format version {header.get('version')}; this "
            f"beatmatch reads version {FORMAT_VERSION}. Retrain it with `beatmatch train-genre`."
        )
    for key, value in expected.items():
        if header.get(key) != value:
            raise GenreModelFormatError(
                f"{path.name} was trained with a different {key} ({header.get(key)!r}, expected "
                f"{value!r}). Retrain it with `beatmatch train-genre`."
            )
    return header, arrays
