"""Genre classifier: fit / predict / predict_top_k / save / load.

Two kinds of evidence, chosen per track:

* **Known artist** — the catalog's labels of that artist's tracks (plus the same counts for the
  track's release and recording, :mod:`recommender.genre.prior`), with the audio model added as
  pseudo-counts, so a well-known artist is named by its catalog and a one-track artist leans on
  the audio model.
* **Unseen artist** — the audio model alone: a RandomForest and an XGBoost soft vote over the
  track's 15 numeric features and what a naive-Bayes model makes of the letters of its names
  (:mod:`recommender.genre.text`; script and words betray j-pop, k-pop, turkish, brazil …).
  XGBoost starts from the name model's calibrated log-probabilities and both tree models read a
  summary of them (:mod:`recommender.genre.stacking`). The name model's outputs for the trees are
  out-of-fold over artist groups, so the trees learn how much names are worth for an artist
  nobody has seen.

A slice of the training catalog (some whole artists, some single tracks) is held out of the fit to
stop XGBoost early and to tune every blend weight and temperature
(:mod:`recommender.genre.calibration`).
A share of training rows has features blanked the way the feature chain blanks them (ReccoBeats has
no popularity/duration/time signature; unknown tracks have no audio at all), so missing values take
a learnt path instead of a default one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb

from recommender.genre.calibration import Blend, known_artist_mix, sharpen
from recommender.genre.forest import CompactForest
from recommender.genre.prior import CountTable, prior_keys
from recommender.genre.stacking import NameEvidence, stack_features
from recommender.genre.text import HASH_FEATURES, NGRAM_RANGE, NameModel, text_matrix
from recommender.genre.training import GenreSettings, audio_probabilities, fit_parts
from recommender.model_file import ModelFormat, ModelFormatError, read_model, write_model
from recommender.tracks import KAGGLE_NUMERIC

Progress = Callable[[str], None]
PRIORS: tuple[str, ...] = ("artist", "release", "recording")


class GenreModelFormatError(ModelFormatError):
    """A file that is not a genre model this version of beatmatch can read."""


#: The genre model's file; the layout keys are what its arrays depend on besides its own weights.
GENRE_FILE = ModelFormat(
    name="beatmatch-genre-classifier",
    version=2,  # 2: the trees read NameEvidence columns; XGBoost starts from its margin
    what="genre model",
    retrain="Retrain it with `beatmatch train-genre`.",
    layout={
        "numeric_features": list(KAGGLE_NUMERIC),
        "hash_features": HASH_FEATURES,
        "ngram_range": list(NGRAM_RANGE),
    },
    error=GenreModelFormatError,
)


def numeric_matrix(tracks: pd.DataFrame) -> np.ndarray:
    """The 15 numeric features (KAGGLE_NUMERIC order), NaN where unknown, (n_tracks, 15) float32.

    Same rules as :func:`recommender.tracks.normalise_tracks` (tempo 0, key −1 and time signature
    0 or 1 are unknown) without building a normalised frame: that costs ~15 ms for one track,
    most of the one-track prediction budget.
    """
    out = np.full((len(tracks), len(KAGGLE_NUMERIC)), np.nan, dtype=np.float64)
    for j, column in enumerate(KAGGLE_NUMERIC):
        if column not in tracks.columns:
            continue
        values = tracks[column]
        if column == "explicit" and not pd.api.types.is_numeric_dtype(values):
            out[:, j] = [_EXPLICIT.get(str(v).strip().lower(), np.nan) for v in values]
        elif pd.api.types.is_numeric_dtype(values):
            out[:, j] = values.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            out[:, j] = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    for column, lowest_known in (("tempo", 0.0), ("key", -0.5), ("time_signature", 1.0)):
        j = KAGGLE_NUMERIC.index(column)
        with np.errstate(invalid="ignore"):
            out[out[:, j] <= lowest_known, j] = np.nan
    return out.astype(np.float32)


_EXPLICIT = {
    "true": 1.0,
    "1": 1.0,
    "1.0": 1.0,
    "yes": 1.0,
    "false": 0.0,
    "0": 0.0,
    "0.0": 0.0,
    "no": 0.0,
}


def catalog_genres(labels: pd.DataFrame, track_ids: list[str] | pd.Index) -> dict[str, list[str]]:
    """The catalog's genres of each of ``track_ids`` that has any, in label order."""
    wanted = set(track_ids)
    rows = labels[labels["track_id"].isin(wanted)]
    out: dict[str, list[str]] = {}
    for track_id, genre in zip(rows["track_id"], rows["genre"], strict=True):
        genres = out.setdefault(str(track_id), [])
        if genre not in genres:
            genres.append(str(genre))
    return out


def label_matrix(
    track_ids: pd.Index, labels: pd.DataFrame, classes: list[str] | None = None
) -> tuple[np.ndarray, list[str]]:
    """Multi-hot labels (n_tracks, n_classes) float32 for ``track_ids``, and the class names."""
    known = labels[labels["track_id"].isin(set(track_ids))]
    if classes is None:
        classes = sorted(known["genre"].astype(str).unique())
    column = {genre: i for i, genre in enumerate(classes)}
    row = {track_id: i for i, track_id in enumerate(track_ids)}
    y = np.zeros((len(track_ids), len(classes)), dtype=np.float32)
    for track_id, genre in zip(known["track_id"], known["genre"].astype(str), strict=True):
        if genre in column:
            y[row[track_id], column[genre]] = 1.0
    return y, classes


@dataclass
class GenreClassifier:
    """A fitted genre classifier; build one with :meth:`fit` or :meth:`load`."""

    class_names: list[str]
    name_model: NameModel
    evidence: NameEvidence
    forest: CompactForest
    booster: xgb.Booster
    priors: dict[str, CountTable]
    blend: Blend
    settings: GenreSettings
    report: dict[str, float]
    reccobeats: xgb.Booster | None = None  # the booster for rows without popularity/duration/metre

    @classmethod
    def fit(
        cls,
        tracks: pd.DataFrame,
        labels: pd.DataFrame,
        *,
        seed: int = 0,
        n_jobs: int = 2,
        progress: Progress | None = None,
        settings: GenreSettings | None = None,
    ) -> GenreClassifier:
        """Train on a track table and its labels (columns track_id, genre; several rows a track)."""
        settings = replace(settings or GenreSettings(), seed=seed, n_jobs=n_jobs)
        say = progress or (lambda _message: None)
        tracks = tracks[~tracks.index.duplicated()]
        y, classes = label_matrix(tracks.index, labels)
        labelled = y.sum(axis=1) > 0
        tracks, y = tracks[labelled], y[labelled]
        if len(classes) < 2 or len(tracks) < 2:
            raise ValueError("The genre classifier needs labelled tracks of at least two genres.")
        say(f"{len(tracks):,} labelled tracks, {len(classes)} genres")
        parts = fit_parts(tracks, y, numeric_matrix(tracks), settings, say)
        keys = prior_keys(tracks)
        priors = {name: CountTable.build(keys[name], y) for name in PRIORS}
        say("genre classifier ready")
        return cls(
            class_names=classes,
            name_model=parts.name_model,
            evidence=parts.evidence,
            forest=parts.forest,
            booster=parts.booster,
            priors=priors,
            blend=parts.blend,
            settings=settings,
            report=parts.report,
            reccobeats=parts.reccobeats,
        )

    @property
    def classes(self) -> list[str]:
        """Genre names, in the column order of :meth:`predict_proba`."""
        return list(self.class_names)

    def audio_proba(self, tracks: pd.DataFrame) -> np.ndarray:
        """The unseen-artist model's calibrated probabilities, (n_tracks, n_classes)."""
        if len(tracks) == 0:
            return np.zeros((0, len(self.class_names)))
        z = stack_features(numeric_matrix(tracks), self.name_model.log_proba(text_matrix(tracks)))
        return audio_probabilities(
            self.forest, self.booster, self.evidence, z, self.blend, self.reccobeats
        )

    def predict_proba(self, tracks: pd.DataFrame) -> np.ndarray:
        """Genre probabilities, (n_tracks, n_classes) float64; every row sums to 1."""
        audio = self.audio_proba(tracks)
        if len(tracks) == 0:
            return audio
        keys = prior_keys(tracks)
        counts = {name: self.priors[name].lookup(keys[name]) for name in PRIORS}
        known = counts["artist"].sum(axis=1) > 0
        if known.any():
            mixed = known_artist_mix(
                counts["artist"][known],
                counts["release"][known],
                counts["recording"][known],
                audio[known],
                self.blend,
            )
            audio[known] = sharpen(mixed, self.blend.known_temperature)
        return audio / audio.sum(axis=1, keepdims=True)

    def predict(self, tracks: pd.DataFrame) -> np.ndarray:
        """The model interface's prediction: :meth:`predict_proba`, (n_tracks, n_classes)."""
        return self.predict_proba(tracks)

    def predict_top_k(self, tracks: pd.DataFrame, k: int = 3) -> list[list[tuple[str, float]]]:
        """The ``k`` likeliest genres of each track with their probabilities, likeliest first."""
        proba = self.predict_proba(tracks)
        k = max(0, min(k, len(self.class_names)))
        order = np.argsort(-proba, axis=1, kind="stable")[:, :k]
        return [
            [(self.class_names[j], float(row[j])) for j in picks]
            for row, picks in zip(proba, order, strict=True)
        ]

    def save(self, path: Path) -> None:
        """Write the model to ``path`` (one .npz-format file, no pickle)."""
        arrays: dict[str, np.ndarray] = {
            "booster": np.frombuffer(bytes(self.booster.save_raw("ubj")), dtype=np.uint8),
            **self.name_model.to_arrays("name__"),
            **self.evidence.to_arrays("evidence__"),
            **self.forest.to_arrays("forest__"),
        }
        if self.reccobeats is not None:
            raw = bytes(self.reccobeats.save_raw("ubj"))
            arrays["booster_reccobeats"] = np.frombuffer(raw, dtype=np.uint8)
        for name, table in self.priors.items():
            arrays.update(table.to_arrays(f"prior_{name}__"))
        meta = {
            "classes": self.class_names,
            "blend": self.blend.as_dict(),
            "settings": asdict(self.settings),
            "report": self.report,
        }
        write_model(Path(path), GENRE_FILE, meta, arrays)

    @classmethod
    def load(cls, path: Path) -> GenreClassifier:
        """Read a model written by :meth:`save`; a foreign or outdated file raises ValueError."""
        meta, arrays = read_model(Path(path), GENRE_FILE)
        try:
            return cls._from_parts(meta, arrays)
        except (KeyError, TypeError, xgb.core.XGBoostError) as error:
            raise GenreModelFormatError(f"{Path(path).name} is incomplete ({error!r}).") from None

    @classmethod
    def _from_parts(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> GenreClassifier:
        """The classifier from a file's header and arrays (KeyError/TypeError if parts are off)."""
        classes = [str(c) for c in meta["classes"]]
        settings = GenreSettings(**meta["settings"])
        booster = xgb.Booster()
        booster.load_model(bytearray(arrays["booster"].tobytes()))
        booster.set_param({"nthread": settings.n_jobs})
        reccobeats = None
        if "booster_reccobeats" in arrays:  # absent from models trained before it existed
            reccobeats = xgb.Booster()
            reccobeats.load_model(bytearray(arrays["booster_reccobeats"].tobytes()))
            reccobeats.set_param({"nthread": settings.n_jobs})
        return cls(
            class_names=classes,
            name_model=NameModel.from_arrays(arrays, "name__"),
            evidence=NameEvidence.from_arrays(arrays, "evidence__"),
            forest=CompactForest.from_arrays(arrays, "forest__", len(classes)),
            booster=booster,
            priors={
                n: CountTable.from_arrays(arrays, f"prior_{n}__", len(classes)) for n in PRIORS
            },
            blend=Blend(**meta["blend"]),
            settings=settings,
            report={str(k): float(v) for k, v in meta["report"].items()},
            reccobeats=reccobeats,
        )
