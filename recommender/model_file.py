"""A model's file: one NumPy ``.npz`` archive of plain arrays plus a JSON header. No pickle.

The header names the format and its version (and whatever else the arrays depend on), so a file
from another program, or from a beatmatch whose model layout has changed, is refused with a clear
message instead of mispredicting. Files are written to a partial file and moved into place, so a
crash mid-write never leaves half a model under the real name.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import struct
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


class ModelFormatError(ValueError):
    """A file that is not a model this version of beatmatch can read."""


#: What reading a damaged archive can raise, inside ``np.load`` and zipfile: :func:`read_model`
#: turns each into the format's error.
_DAMAGED = (
    zipfile.BadZipFile,
    zlib.error,
    struct.error,
    ValueError,
    EOFError,
    KeyError,
    IndexError,
    NotImplementedError,  # a member "compressed" with a method zipfile doesn't know
)
#: What loading a stored model file can raise: mostly a ModelFormatError (damaged, foreign,
#: outdated), an OSError (unreadable), or what rebuilding a model from parts that are not what
#: they should be raises. Whoever loads a stored model treats each as "no stored model".
UNREADABLE_MODEL: tuple[type[Exception], ...] = (*_DAMAGED, TypeError, OSError)
#: The suffix a damaged model file is set aside with (see :func:`set_aside`).
SET_ASIDE_SUFFIX = ".unreadable"


@dataclass(frozen=True)
class ModelFormat:
    """What a kind of model file must say in its header, and how to talk about a wrong one."""

    name: str  # the header's "format"
    version: int
    what: str  # "genre model": how messages name the file's kind
    retrain: str  # the sentence that tells the operator how to get a good file
    layout: Mapping[str, Any] = field(default_factory=dict)  # more keys a file must match
    error: type[ModelFormatError] = ModelFormatError

    def header(self) -> dict[str, Any]:
        """The header keys every file of this format starts with."""
        return {"format": self.name, "version": self.version, **self.layout}


def write_model(
    path: Path, file_format: ModelFormat, meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray]
) -> None:
    """Write ``arrays`` and ``meta`` (JSON-ready; its keys win over the format's) to ``path``."""
    header = json.dumps({**file_format.header(), **meta}, sort_keys=True).encode("utf-8")
    payload = {"header": np.frombuffer(header, dtype=np.uint8), **arrays}
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as handle:  # a file object: np.savez must not append ".npz"
        np.savez_compressed(handle, **payload)  # type: ignore[arg-type]
    os.replace(partial, path)


def read_model(
    path: Path, file_format: ModelFormat
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(header, arrays) of a file written by :func:`write_model` in ``file_format``.

    Raises ``file_format.error`` (a ValueError) for a file of any other kind or layout.
    """
    error, what = file_format.error, file_format.what
    try:
        loaded = np.load(path, allow_pickle=False)  # a pickle (joblib) is a ValueError here
    except _DAMAGED as problem:  # zero bytes, truncated, random bytes
        raise error(f"{path.name} is not a beatmatch {what} ({problem!r}).") from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):  # one bare .npy array
        raise error(f"{path.name} is not a beatmatch {what} (not an archive).")
    try:
        with loaded as archive:
            arrays = {key: archive[key] for key in archive.files}
    except _DAMAGED as problem:  # damaged inside: a member cut short, a bad checksum
        raise error(f"{path.name} is not a beatmatch {what} ({problem!r}).") from None
    if "header" not in arrays:
        raise error(f"{path.name} is not a beatmatch {what} (no header).")
    try:
        header = json.loads(arrays.pop("header").tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as problem:
        raise error(f"{path.name} has an unreadable header ({problem}).") from None
    if not isinstance(header, dict) or header.get("format") != file_format.name:
        raise error(f"{path.name} is not a beatmatch {what}.")
    if header.get("version") != file_format.version:
        raise error(
            f"{path.name} is a {what} of format version {header.get('version')}; this "
            f"beatmatch reads version {file_format.version}. {file_format.retrain}"
        )
    for key, value in file_format.layout.items():
        if header.get(key) != value:
            raise error(
                f"{path.name} was trained with a different {key} ({header.get(key)!r}, expected "
                f"{value!r}). {file_format.retrain}"
            )
    return header, arrays


def set_aside(path: Path) -> Path | None:
    """Move a damaged model file out of the way (``name.unreadable``, replacing an older one) so
    it is trained again and can still be looked at; where it went, or None if it couldn't move
    (it is then deleted, when it can be)."""
    target = path.with_name(path.name + SET_ASIDE_SUFFIX)
    try:
        os.replace(path, target)
    except FileNotFoundError:
        return None
    except OSError:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
        return None
    return target


def strings_to_arrays(strings: Sequence[str], prefix: str) -> dict[str, np.ndarray]:
    """Strings as two plain arrays: one UTF-8 blob and the offsets (len + 1,) that cut it."""
    encoded = [s.encode("utf-8") for s in strings]
    lengths = np.array([len(e) for e in encoded], dtype=np.int64)
    return {
        f"{prefix}blob": np.frombuffer(b"".join(encoded), dtype=np.uint8),
        f"{prefix}offsets": np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
    }


def strings_from_arrays(arrays: Mapping[str, np.ndarray], prefix: str) -> list[str]:
    """The strings written by :func:`strings_to_arrays` (KeyError if they are not there)."""
    blob = arrays[f"{prefix}blob"].tobytes()
    offsets = arrays[f"{prefix}offsets"].tolist()
    return [blob[s:e].decode("utf-8") for s, e in itertools.pairwise(offsets)]
