"""Model work as plain data: jobs, answers and catalogs as JSON and ``.npz`` archives, never pickle.

What travels between the bot and ``beatmatch worker`` processes on other machines goes through a
Redis that others may be able to write to, so nothing read from it may be able to run code: JSON
objects with strict shapes, and tables and arrays as base64 of ``.npz`` archives read with
``np.load(allow_pickle=False)`` (text columns as UTF-8 bytes and offsets, not object arrays).
Anything unexpected is refused with ``CodecError`` before any work starts.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import io
import json
import zipfile
from collections.abc import Mapping
from typing import Any, TypeGuard

import numpy as np
import pandas as pd

from bot.core.model_jobs import GenreJob, Job, TasteJob, TrainedFile, TrainingRefused
from bot.training.execute import WorkerCatalog
from recommender.taste import TasteSettings

#: The version of the wire format; a worker refuses others (the bot and workers update together).
WIRE_VERSION = 1
ARCHIVE_FORMAT = "beatmatch-npz"
#: Text dtypes a column may be restored as ("str" is pandas 3's default string dtype).
TEXT_DTYPES = frozenset({"object", "str", "string"})
NUMBER_KINDS = "biuf"


class CodecError(ValueError):
    """Data that is not what beatmatch sends: refused, nothing done with it."""


# -- tables and arrays as one .npz archive -------------------------------------------------------
def pack(
    frames: Mapping[str, pd.DataFrame], arrays: Mapping[str, np.ndarray] | None = None
) -> bytes:
    """``frames`` and ``arrays`` as the bytes of one compressed ``.npz`` archive."""
    entries: dict[str, np.ndarray] = {}
    layout: dict[str, Any] = {}
    for name, frame in frames.items():
        columns = [
            _put(entries, f"{name}/{i}", column, frame[column])
            for i, column in enumerate(frame.columns)
        ]
        layout[name] = {"columns": columns, "index": _put_index(entries, name, frame.index)}
    for name, array in (arrays or {}).items():
        if array.dtype.kind not in NUMBER_KINDS:
            raise CodecError(f"array {name!r} is {array.dtype}, not numbers")
        entries[f"array/{name}"] = array
    meta = {
        "format": ARCHIVE_FORMAT,
        "version": WIRE_VERSION,
        "frames": layout,
        "arrays": list(arrays or {}),
    }
    entries["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    out = io.BytesIO()
    np.savez_compressed(out, **entries)  # type: ignore[arg-type]
    return out.getvalue()


def unpack(data: bytes) -> tuple[dict[str, pd.DataFrame], dict[str, np.ndarray]]:
    """The frames and arrays of ``pack``'s bytes; CodecError for anything else."""
    try:
        archive = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise CodecError(f"not a beatmatch archive ({error})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise CodecError("not a beatmatch archive (a single array)")
    with archive:
        entries = _Entries(archive)
        meta = _json_object(entries.array("meta", "u").tobytes(), "archive meta")
        if meta.get("format") != ARCHIVE_FORMAT or meta.get("version") != WIRE_VERSION:
            raise CodecError("not a beatmatch archive of this version")
        frames = {
            _text(name, "frame name"): _frame(entries, name, layout)
            for name, layout in _mapping(meta.get("frames"), "frames").items()
        }
        arrays = {
            name: entries.array(f"array/{_text(name, 'array name')}", NUMBER_KINDS)
            for name in _sequence(meta.get("arrays"), "arrays")
        }
    return frames, arrays


def _put(entries: dict[str, np.ndarray], key: str, name: object, series: pd.Series) -> dict:
    if not isinstance(name, str):
        raise CodecError(f"column names must be text, not {name!r}")
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        _put_text(entries, f"{key}.categories", pd.Series(dtype.categories))
        entries[f"{key}.codes"] = np.asarray(series.cat.codes.to_numpy())
        return {"name": name, "kind": "category", "ordered": bool(dtype.ordered)}
    if isinstance(dtype, np.dtype) and dtype.kind in NUMBER_KINDS:
        entries[key] = series.to_numpy()
        return {"name": name, "kind": "number"}
    if str(dtype) in TEXT_DTYPES:
        _put_text(entries, key, series)
        return {"name": name, "kind": "text", "dtype": str(dtype)}
    raise CodecError(f"column {name!r} is {dtype}: only numbers, text and categories travel")


def _put_index(entries: dict[str, np.ndarray], frame: str, index: pd.Index) -> dict:
    name = index.name
    if name is not None and not isinstance(name, str):
        raise CodecError(f"the index name of {frame!r} must be text")
    if isinstance(index, pd.RangeIndex):
        return {"name": name, "kind": "range", "range": [index.start, index.stop, index.step]}
    spec = _put(entries, f"{frame}/index", "index", index.to_series())
    return {**spec, "name": name}


def _put_text(entries: dict[str, np.ndarray], key: str, series: pd.Series) -> None:
    values = series.to_numpy(dtype=object)
    missing = np.asarray(pd.isna(values), dtype=bool)
    encoded: list[bytes] = []
    for value, absent in zip(values, missing, strict=True):
        if absent:
            encoded.append(b"")
        elif isinstance(value, str):
            encoded.append(value.encode("utf-8"))
        else:
            raise CodecError(f"a text column holds {type(value).__name__} {value!r}")
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(np.fromiter((len(b) for b in encoded), np.int64, len(encoded)))
    entries[f"{key}.utf8"] = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    entries[f"{key}.offsets"] = offsets
    entries[f"{key}.missing"] = missing


class _Entries:
    """An archive's arrays, each checked for its kind as it is read."""

    def __init__(self, archive: np.lib.npyio.NpzFile) -> None:
        self.archive = archive

    def array(self, key: str, kinds: str) -> np.ndarray:
        try:
            array = self.archive[key]
        except (KeyError, ValueError, OSError, zipfile.BadZipFile) as error:
            raise CodecError(f"archive entry {key!r} unreadable or missing ({error})") from None
        if array.dtype.kind not in kinds or array.dtype.hasobject:
            raise CodecError(f"archive entry {key!r} is {array.dtype}")
        return array

    def vector(self, key: str, kinds: str, length: int | None = None) -> np.ndarray:
        array = self.array(key, kinds)
        if array.ndim != 1 or (length is not None and len(array) != length):
            raise CodecError(f"archive entry {key!r} has shape {array.shape}")
        return array

    def text(self, key: str) -> np.ndarray:
        """A text column as an object array of str, NaN where missing."""
        offsets = self.vector(f"{key}.offsets", "i")
        raw = self.vector(f"{key}.utf8", "u").tobytes()
        if len(offsets) == 0 or offsets[0] != 0 or offsets[-1] != len(raw):
            raise CodecError(f"archive entry {key!r} has bad offsets")
        if np.any(np.diff(offsets) < 0):
            raise CodecError(f"archive entry {key!r} has bad offsets")
        size = len(offsets) - 1
        missing = self.vector(f"{key}.missing", "b", size)
        values = np.empty(size, dtype=object)
        bounds = offsets.tolist()
        try:
            for i in range(size):
                values[i] = np.nan if missing[i] else raw[bounds[i] : bounds[i + 1]].decode()
        except UnicodeDecodeError:
            raise CodecError(f"archive entry {key!r} is not UTF-8") from None
        return values


def _frame(entries: _Entries, name: str, layout: object) -> pd.DataFrame:
    spec = _mapping(layout, f"frame {name!r}")
    index = _index(entries, name, _mapping(spec.get("index"), "index"))
    data: dict[str, pd.Series] = {}
    for i, column in enumerate(_sequence(spec.get("columns"), "columns")):
        column = _mapping(column, "column")
        label = _text(column.get("name"), "column name")
        data[label] = _series(entries, f"{name}/{i}", column, len(index))
    if not data:
        return pd.DataFrame(index=index)
    frame = pd.DataFrame(data)  # every column has len(index) rows (checked as read)
    frame.index = index
    return frame


def _index(entries: _Entries, frame: str, spec: Mapping[str, Any]) -> pd.Index:
    name = spec.get("name")
    if name is not None and not isinstance(name, str):
        raise CodecError("index names are text")
    if spec.get("kind") == "range":
        bounds = _sequence(spec.get("range"), "range")
        if len(bounds) != 3 or not all(_is_int(b) for b in bounds) or bounds[2] == 0:
            raise CodecError("bad range index")
        start, stop, step = bounds
        return pd.RangeIndex(start, stop, step, name=name)
    values = _series(entries, f"{frame}/index", spec, None)
    return pd.Index(values, name=name)


def _series(entries: _Entries, key: str, spec: Mapping[str, Any], length: int | None) -> pd.Series:
    kind = spec.get("kind")
    if kind == "number":
        return pd.Series(entries.vector(key, NUMBER_KINDS, length))
    if kind == "text":
        dtype = spec.get("dtype")
        if dtype not in TEXT_DTYPES:
            raise CodecError(f"text dtype {dtype!r} not allowed")
        values = entries.text(key)
        if length is not None and len(values) != length:
            raise CodecError(f"archive entry {key!r} has {len(values)} rows, not {length}")
        if dtype == "object":
            return pd.Series(values, dtype=object).where(pd.notna(values), None)
        return pd.Series(values, dtype=object).astype(dtype)
    if kind == "category":
        categories = entries.text(f"{key}.categories")
        codes = entries.vector(f"{key}.codes", "i", length)
        if len(codes) and (codes.min() < -1 or codes.max() >= len(categories)):
            raise CodecError(f"archive entry {key!r} has codes out of range")
        if pd.isna(categories).any():
            raise CodecError(f"archive entry {key!r} has a missing category")
        ordered = spec.get("ordered")
        if not isinstance(ordered, bool):
            raise CodecError("a category's order is true or false")
        return pd.Series(
            pd.Categorical.from_codes(codes, pd.Index(categories).astype("str"), ordered=ordered)
        )
    raise CodecError(f"unknown column kind {kind!r}")


# -- jobs ----------------------------------------------------------------------------------------
def job_to_json(job: Job) -> dict[str, Any]:
    """``job`` as a JSON object (its tables as one base64 ``.npz``)."""
    if isinstance(job, GenreJob):
        return {
            "beatmatch": WIRE_VERSION,
            "kind": "genre",
            "catalog": job.catalog,
            "n_jobs": job.n_jobs,
        }
    frames = {"library": job.library, "tracks": job.tracks, "top_artists": job.top_artists}
    return {
        "beatmatch": WIRE_VERSION,
        "kind": "taste",
        "catalog": job.catalog,
        "user_id": job.user_id,
        "fingerprint": job.fingerprint,
        "quick": job.quick,
        "feedback": {str(track): int(value) for track, value in job.feedback.items()},
        "settings": settings_to_json(job.settings),
        "tables": _b64(pack(frames)),
    }


def job_from_json(payload: object) -> Job:
    """The job a JSON object describes; CodecError when it is not one of beatmatch's."""
    data = _wire(payload, "job")
    kind = data.get("kind")
    if kind == "genre":
        _keys(data, {"beatmatch", "kind", "catalog", "n_jobs"}, "genre job")
        n_jobs = data.get("n_jobs")
        if not _is_int(n_jobs) or not 1 <= n_jobs <= 256:
            raise CodecError("a genre job's n_jobs is a small positive integer")
        return GenreJob(_text(data.get("catalog"), "catalog"), n_jobs)
    if kind != "taste":
        raise CodecError(f"unknown job kind {kind!r}")
    _keys(
        data,
        {
            "beatmatch",
            "kind",
            "catalog",
            "user_id",
            "fingerprint",
            "quick",
            "feedback",
            "settings",
            "tables",
        },
        "taste job",
    )
    user_id, quick = data.get("user_id"), data.get("quick")
    if not _is_int(user_id) or not isinstance(quick, bool):
        raise CodecError("a taste job names a user (an integer) and whether it is quick")
    feedback = _mapping(data.get("feedback"), "feedback")
    if not all(_is_int(v) for v in feedback.values()):
        raise CodecError("feedback values are integers")
    frames, _ = unpack(_unb64(data.get("tables"), "tables"))
    if set(frames) != {"library", "tracks", "top_artists"}:
        raise CodecError(
            f"a taste job's tables are library, tracks and top_artists, not {sorted(frames)}"
        )
    return TasteJob(
        user_id=user_id,
        fingerprint=_text(data.get("fingerprint"), "fingerprint"),
        catalog=_text(data.get("catalog"), "catalog"),
        quick=quick,
        library=frames["library"],
        tracks=frames["tracks"],
        feedback=dict(feedback),
        top_artists=frames["top_artists"],
        settings=settings_from_json(data.get("settings")),
    )


def settings_to_json(settings: TasteSettings) -> dict[str, Any]:
    """Taste settings (with their ensemble settings) as a JSON object."""
    return dataclasses.asdict(settings)


def settings_from_json(payload: object) -> TasteSettings:
    """Taste settings from JSON: known fields of the right types only (missing ones default)."""
    return _dataclass_from_json(TasteSettings, payload)


def _dataclass_from_json(cls: type, payload: object) -> Any:
    data = _mapping(payload, cls.__name__)
    defaults = cls()
    values: dict[str, Any] = {}
    for name, value in data.items():
        if name not in {f.name for f in dataclasses.fields(cls)}:
            raise CodecError(f"{cls.__name__} has no setting {name!r} (is this worker older?)")
        default = getattr(defaults, name)
        if dataclasses.is_dataclass(default):
            values[name] = _dataclass_from_json(type(default), value)
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise CodecError(f"setting {name!r} is true or false")
            values[name] = value
        elif isinstance(default, int):
            if not _is_int(value):
                raise CodecError(f"setting {name!r} is an integer")
            values[name] = value
        elif isinstance(default, float):
            if not _is_number(value):
                raise CodecError(f"setting {name!r} is a number")
            values[name] = float(value)
        elif isinstance(default, str):
            values[name] = _text(value, f"setting {name!r}")
        else:
            raise CodecError(f"setting {name!r} can't travel")
    return cls(**values)


# -- answers -------------------------------------------------------------------------------------
def answer_to_json(answer: TrainedFile | TrainingRefused) -> dict[str, Any]:
    """A worker's answer as a JSON object: the model file and scores, or why there is none."""
    if isinstance(answer, TrainingRefused):
        return {"beatmatch": WIRE_VERSION, "refused": answer.reason}
    scores = None
    if answer.scores is not None:
        scores = _b64(pack({}, {"scores": np.asarray(answer.scores)}))
    return {
        "beatmatch": WIRE_VERSION,
        "model": _b64(answer.model),
        "scores": scores,
        "seconds": float(answer.seconds),
        "info": {str(k): float(v) for k, v in answer.info.items()},
    }


def answer_from_json(payload: object) -> TrainedFile:
    """The trained file a worker sent; TrainingRefused when it said the data can't make a model,
    CodecError when it is not one of beatmatch's answers."""
    data = _wire(payload, "answer")
    if "refused" in data:
        _keys(data, {"beatmatch", "refused"}, "refusal")
        raise TrainingRefused(_text(data["refused"], "reason"))
    _keys(data, {"beatmatch", "model", "scores", "seconds", "info"}, "answer")
    scores = None
    if data.get("scores") is not None:
        _, arrays = unpack(_unb64(data["scores"], "scores"))
        scores = arrays.get("scores")
        if scores is None or scores.ndim != 1 or scores.dtype.kind != "f":
            raise CodecError("an answer's scores are one row of numbers")
    seconds, info = data.get("seconds"), _mapping(data.get("info"), "info")
    if not _is_number(seconds) or not all(_is_number(v) for v in info.values()):
        raise CodecError("an answer's seconds and info are numbers")
    model = _unb64(data.get("model"), "model")
    return TrainedFile(model, scores, float(seconds), {k: float(v) for k, v in info.items()})


# -- the catalog ---------------------------------------------------------------------------------
def catalog_to_bytes(catalog: WorkerCatalog) -> bytes:
    """The catalog a worker holds, as one ``.npz`` archive (sent once per catalog version)."""
    fingerprint = np.frombuffer(catalog.fingerprint.encode(), dtype=np.uint8)
    return pack({"tracks": catalog.tracks, "genres": catalog.genres}, {"fingerprint": fingerprint})


def catalog_from_bytes(data: bytes, fingerprint: str) -> WorkerCatalog:
    """The catalog ``catalog_to_bytes`` wrote, checked to be version ``fingerprint``."""
    frames, arrays = unpack(data)
    held = arrays.get("fingerprint")
    if held is None or held.dtype != np.uint8 or held.tobytes() != fingerprint.encode():
        raise CodecError(f"the stored catalog is not version {fingerprint}")
    if set(frames) != {"tracks", "genres"}:
        raise CodecError("a catalog has tracks and genres")
    return WorkerCatalog(fingerprint, frames["tracks"], frames["genres"])


# -- checks --------------------------------------------------------------------------------------
def _wire(payload: object, what: str) -> Mapping[str, Any]:
    data = _mapping(payload, what)
    if data.get("beatmatch") != WIRE_VERSION:
        raise CodecError(f"not a beatmatch {what} of wire version {WIRE_VERSION}")
    return data


def _keys(data: Mapping[str, Any], allowed: set[str], what: str) -> None:
    unknown = set(data) - allowed
    if unknown:
        raise CodecError(f"a {what} has no {sorted(unknown)}")


def _mapping(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise CodecError(f"{what} is not a JSON object")
    return value


def _sequence(value: object, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise CodecError(f"{what} is not a JSON list")
    return value


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise CodecError(f"{what} is not text")
    return value


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _json_object(raw: bytes, what: str) -> Mapping[str, Any]:
    try:
        return _mapping(json.loads(raw.decode()), what)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CodecError(f"{what} is not JSON") from None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: object, what: str) -> bytes:
    try:
        return base64.b64decode(_text(value, what), validate=True)
    except (binascii.Error, ValueError):
        raise CodecError(f"{what} is not base64") from None
