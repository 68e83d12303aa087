"""Per-user taste models: their training jobs' inputs, the trained files taken in, the models and
their catalog scores kept in memory (a few hundred users) and in the data directory.

Training itself happens in worker processes (``bot.core.model_work``); here a job is prepared from
storage and its answer adopted: the model file and the catalog scores the worker computed are
stored, so loading a model later costs a file read, not a fit nor a scoring. Everything here is
blocking (sqlite, files); the service calls it from worker threads.
"""

from __future__ import annotations

import io
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from bot.core.catalog import CatalogState
from bot.core.errors import UserFacingError
from bot.core.model_jobs import TasteJob, TrainedFile
from recommender.candidates import song_pairs
from recommender.ensemble import TasteEnsemble
from recommender.features import TasteProfile
from recommender.first_guess import first_guess_scores, seed_library, seed_scores
from recommender.model_file import UNREADABLE_MODEL, set_aside
from recommender.taste import MIN_POSITIVES, TasteModel, TasteSettings, with_audio_features
from storage.taste_store import TasteStore
from storage.track_store import TrackStore

log = logging.getLogger(__name__)
T = TypeVar("T")
MODEL_KIND = "taste"
#: Fitted forests take ~6 MB a user: only this many stay in memory; the rest keep their catalog
#: scores (all /recommend needs) and reload the forests from disk to score new search tracks.
MAX_FULL_MODELS = 16
#: Each user with a model in memory holds their catalog scores (float32: 0.3 MB on 76k tracks) and
#: library tables; beyond this many, the least recently served are dropped from memory and load
#: again from disk (about a second) when they come back.
MAX_CACHED_USERS = 256
#: A listener with no library, once they have named with /start or liked this many songs, has a
#: taste model trained on those (through the queue) instead of the first guess. On the shared
#: listener (``bench/cold_start.py --seed-tracks N``, 5 draws) a model trained on 10 songs beats
#: the guess at the top of the list (Recall@100 0.018 vs 0.011, NDCG@100 0.026 vs 0.013), on 20
#: at every depth (Recall@500 0.113 vs 0.089); on 5 it is no better.
SEED_SONGS_TO_TRAIN = 10


class NoLibrary(UserFacingError):
    """The user has no library to learn from yet."""


def too_little_taste(reason: str) -> NoLibrary:
    """What a listener is told when their library can't make a model."""
    return NoLibrary(
        f"Your library has too few tracks with audio features to learn from ({reason}). "
        "Import a larger Exportify export, or a catalog that holds your tracks."
    )


@dataclass(frozen=True)
class TrainedTaste:
    """A user's model with the catalog already scored (so /recommend only selects)."""

    model: TasteModel
    fingerprint: str
    catalog_scores: np.ndarray  # (catalog size,), aligned with catalog.tracks.index
    library: pd.DataFrame  # library rows: track_id, source, rank, added_at
    library_tracks: pd.DataFrame  # track table of the library
    library_songs: np.ndarray  # song hashes of the library (``song_pairs``), for exclusions
    trained_at: float
    quick: bool = False  # a first, lighter model served while the full one trains
    guess: bool = False  # no model: a first guess from artists and sound, while models queue
    seeds: int = 0  # a guess from this many songs and artists named with /start (no library)

    @property
    def from_seeds(self) -> bool:
        """Learned or guessed from what the listener named with /start and liked (no library)."""
        return bool(self.seeds) or (
            len(self.library) > 0 and bool((self.library["source"] == "seeds").all())
        )


class TasteModels:
    """Jobs, files and the in-memory cache of per-user taste models."""

    def __init__(
        self,
        taste: TasteStore,
        tracks: TrackStore,
        catalog: CatalogState,
        models_dir: Path,
        settings: TasteSettings | None = None,
    ) -> None:
        self.taste = taste
        self.tracks = tracks
        self.catalog = catalog
        self.models_dir = models_dir
        self.settings = settings or TasteSettings()
        self._cache: OrderedDict[int, TrainedTaste] = OrderedDict()
        self._full: OrderedDict[int, None] = OrderedDict()
        self._locks: dict[int, threading.Lock] = {}
        self._guard = threading.Lock()

    def fingerprint(self, user_id: int) -> str:
        """What a model must have been trained on to be current: catalog + taste version."""
        return f"{self.catalog.fingerprint}:{self.taste.taste_version(user_id)}"

    def cached(self, user_id: int) -> TrainedTaste | None:
        """The model in memory, current or not (marked as recently used)."""
        with self._guard:
            trained = self._cache.get(user_id)
            if trained is not None:
                self._cache.move_to_end(user_id)
            return trained

    def is_current(self, trained: TrainedTaste | None, user_id: int) -> bool:
        """True if ``trained`` reflects the user's present library and feedback."""
        return (
            trained is not None
            and not trained.quick
            and trained.fingerprint == self.fingerprint(user_id)
        )

    def forget(self, user_id: int, erase_rows: Callable[[int], T]) -> T:
        """Erase the user: waits for a model being taken in, then drops the model from memory and
        disk and calls ``erase_rows`` under the same lock, so no late save can resurrect it."""
        with self._lock(user_id):
            self._cache.pop(user_id, None)
            self._full.pop(user_id, None)
            self._path(user_id).unlink(missing_ok=True)
            self._scores_path(user_id).unlink(missing_ok=True)
            return erase_rows(user_id)

    def cached_count(self) -> int:
        """How many users' models are in memory."""
        return len(self._cache)

    def _path(self, user_id: int) -> Path:
        return self.models_dir / f"taste-user{user_id}.npz"

    def _scores_path(self, user_id: int) -> Path:
        return self.models_dir / f"taste-user{user_id}.scores.npy"

    def _lock(self, user_id: int) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(user_id, threading.Lock())

    def _library(self, user_id: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        library = self.taste.library(user_id)
        if library.empty:
            seeded = self._seed_library(user_id)
            if seeded is None:
                raise NoLibrary(
                    "I don't know your taste yet. Send an Exportify CSV with /import "
                    "(exportify.net → Liked Songs → Export)."
                )
            return seeded
        tracks = self.tracks.get_tracks(library["track_id"].unique())
        return library, tracks

    def seed_songs(self, user_id: int) -> int:
        """How many songs the listener named with /start or liked: with no library, a model is
        trained on them from ``SEED_SONGS_TO_TRAIN`` on."""
        named = {v for kind, v in self.taste.seeds(user_id) if kind == "track"}
        return len(named | {t for t, v in self.taste.feedback(user_id).items() if v > 0})

    def _seed_library(self, user_id: int) -> tuple[pd.DataFrame, pd.DataFrame] | None:
        """For a listener with no library who named or liked enough songs: those songs and the
        named artists' best-known tracks (as the first guess reads them), as a library to learn
        from; None before."""
        if self.seed_songs(user_id) < SEED_SONGS_TO_TRAIN:
            return None
        seeds = self.taste.seeds(user_id)
        liked = [t for t, v in self.taste.feedback(user_id).items() if v > 0]
        songs = [*(v for kind, v in seeds if kind == "track"), *liked]
        artists = [v for kind, v in seeds if kind == "artist"]
        named = seed_library(self.catalog.tracks, songs, artists, self.catalog.guess_index())
        ids = list(dict.fromkeys([*named, *songs]))  # liked tracks outside the catalog too
        library = pd.DataFrame(
            {"track_id": ids, "source": "seeds", "rank": range(1, len(ids) + 1), "added_at": ""}
        )
        return library, self._known_tracks(ids)

    def _top_artists(self, user_id: int, library: pd.DataFrame) -> pd.DataFrame:
        """The listener's top artists: Spotify's, or for a library of seeds the artists named."""
        if len(library) and (library["source"] == "seeds").all():
            named = [v for kind, v in self.taste.seeds(user_id) if kind == "artist"]
            return pd.DataFrame(
                {"artist": named, "time_range": "long", "rank": range(1, len(named) + 1)}
            )
        return self.taste.top_artists(user_id)

    def has_stored(self, user_id: int, current: bool = True) -> bool:
        """Whether a model file is on disk — one trained on the present library and feedback, or
        (``current`` False) any: loading it takes a file read, not a training."""
        record = self._record(user_id)
        if record is None:
            return False
        return not current or record["fingerprint"] == self.fingerprint(user_id)

    def _record(self, user_id: int) -> dict[str, Any] | None:
        """The stored model's record when its file is there."""
        record = self.taste.model_record(user_id, MODEL_KIND)
        if record and Path(record["path"]).is_file():
            return record
        return None

    def load_stored(self, user_id: int) -> TrainedTaste | None:
        """The user's model from memory or disk, current or not (see ``is_current``), without
        training; None if there is none."""
        with self._lock(user_id):
            return self._stored(user_id)

    def _stored(self, user_id: int) -> TrainedTaste | None:
        trained = self._cache.get(user_id)
        if trained is not None and not trained.quick:
            return trained
        record = self._record(user_id)
        if record is None:
            return trained
        model = self._load_file(user_id, Path(record["path"]))
        if model is None:
            return trained
        scores = self._stored_scores(record)
        loaded = self._remember(user_id, model, record["fingerprint"], scores)
        if scores is None and self._of_this_catalog(record):  # damaged or lost: stored again
            _write_scores(self._scores_path(user_id), loaded.catalog_scores)
        return loaded

    def _of_this_catalog(self, record: dict[str, Any]) -> bool:
        """Whether a stored model was trained on the present catalog."""
        return str(record["fingerprint"]).split(":", 1)[0] == self.catalog.fingerprint

    def _load_file(self, user_id: int, path: Path) -> TasteModel | None:
        """The model in ``path``; None when the file is damaged (truncated, garbage, a member
        missing…): it is then set aside with a warning, so it counts as no stored model and the
        next request trains a new one."""
        try:
            return TasteModel.load(path)
        except UNREADABLE_MODEL as error:
            self._set_aside(path, f"the stored taste model of user {user_id}", error)
            self._scores_path(user_id).unlink(missing_ok=True)
            return None

    def _stored_scores(self, record: dict[str, Any]) -> np.ndarray | None:
        """The catalog scores stored with a model, when they are of this catalog (a damaged
        scores file is set aside: the model scores the catalog again)."""
        path = Path(record["path"]).with_suffix(".scores.npy")
        if not self._of_this_catalog(record) or not path.is_file():
            return None
        try:
            scores = np.load(path, allow_pickle=False)
            if not isinstance(scores, np.ndarray) or scores.dtype.kind != "f":
                raise ValueError("not an array of scores")
        except UNREADABLE_MODEL as error:
            self._set_aside(path, "the stored catalog scores of a taste model", error)
            return None
        return scores if scores.shape == (self.catalog.size,) else None

    @staticmethod
    def _set_aside(path: Path, what: str, error: Exception) -> None:
        moved = set_aside(path)
        log.warning(
            "%s, %s, is unreadable (%s): %s; a new one is made",
            what,
            path,
            error,
            f"set aside as {moved.name}" if moved else "removed",
        )

    def job(self, user_id: int, quick: bool = False) -> TasteJob:
        """The training job for the user's present library and feedback (NoLibrary if empty)."""
        library, tracks = self._library(user_id)
        feedback = self.taste.feedback(user_id)
        extra = [t for t in feedback if t not in tracks.index]
        if extra:
            tracks = pd.concat([tracks, self._known_tracks(extra)])
        return TasteJob(
            user_id=user_id,
            fingerprint=self.fingerprint(user_id),
            catalog=self.catalog.fingerprint,
            quick=quick,
            library=library,
            tracks=tracks,
            feedback=feedback,
            top_artists=self._top_artists(user_id, library),
            settings=self.settings.quick() if quick else self.settings,
        )

    def first_guess(self, user_id: int) -> TrainedTaste:
        """A first guess at the user's taste that needs no training (``recommender.first_guess``):
        served, labelled, while their first model waits in a busy queue. Never stored nor kept."""
        library, tracks = self._library(user_id)
        with_audio = len(with_audio_features(tracks))
        if with_audio < MIN_POSITIVES:  # what a training would refuse, said at once
            raise too_little_taste(f"only {with_audio} library tracks have audio features")
        profile, scores = first_guess_scores(
            self.catalog.tracks,
            library,
            tracks,
            self.taste.feedback(user_id),
            self._top_artists(user_id, library),
            self.catalog.guess_index(),
        )
        return self._guess(user_id, profile, scores, library, tracks)

    def seed_guess(self, user_id: int) -> TrainedTaste | None:
        """A first guess from the songs and artists the user named with /start and every 👍/👎
        since (``recommender.first_guess.seed_scores``); None without seeds. Never stored."""
        seeds = self.taste.seeds(user_id)
        if not seeds:
            return None
        tracks = [value for kind, value in seeds if kind == "track"]
        artists = [value for kind, value in seeds if kind == "artist"]
        profile, scores, ids = seed_scores(
            self.catalog.tracks,
            tracks,
            artists,
            self.taste.feedback(user_id),
            self.catalog.guess_index(),
            self.catalog.genre_sound(),
        )
        known = self.catalog.tracks.loc[ids]
        library = pd.DataFrame(
            {"track_id": ids, "source": "seeds", "rank": range(1, len(ids) + 1), "added_at": ""}
        )
        return self._guess(user_id, profile, scores, library, known, seeds=len(seeds))

    def _guess(
        self,
        user_id: int,
        profile: TasteProfile,
        scores: np.ndarray,
        library: pd.DataFrame,
        tracks: pd.DataFrame,
        seeds: int = 0,
    ) -> TrainedTaste:
        """A first guess served as a taste (no ensemble, never stored): from a library, or from
        ``seeds`` named with /start."""
        return TrainedTaste(
            model=TasteModel(profile=profile, ensemble=TasteEnsemble(), trained_on=len(tracks)),
            fingerprint=self.fingerprint(user_id),
            catalog_scores=scores,
            library=library,
            library_tracks=tracks,
            library_songs=song_pairs(tracks)[0],
            trained_at=time.time(),
            quick=True,
            guess=True,
            seeds=seeds,
        )

    def adopt(self, job: TasteJob, answer: TrainedFile) -> TrainedTaste:
        """Take a worker's model in: stored (a full one, with its catalog scores) and remembered."""
        user_id = job.user_id
        with self._lock(user_id):
            path = self._path(user_id)
            if job.quick:  # served until the full model comes, never stored as the user's model
                path = path.with_suffix(".quick.npz")
            _write_atomically(path, answer.model)
            try:
                model = TasteModel.load(path)
            finally:
                if job.quick:
                    path.unlink(missing_ok=True)
            scores = answer.scores
            if not job.quick:
                if scores is not None:
                    _write_scores(self._scores_path(user_id), scores)
                self.taste.save_model_record(
                    user_id,
                    MODEL_KIND,
                    str(path),
                    job.fingerprint,
                    {**model.info, "seconds": answer.seconds},
                )
                log.info(
                    "trained taste model for user %s on %d tracks in %.1f s",
                    user_id,
                    model.trained_on,
                    answer.seconds,
                )
            return self._remember(
                user_id, model, job.fingerprint, scores, job.library, job.tracks, quick=job.quick
            )

    def _known_tracks(self, track_ids: list[str]) -> pd.DataFrame:
        in_catalog = [t for t in track_ids if t in self.catalog.tracks.index]
        stored = self.tracks.get_tracks(
            [t for t in track_ids if t not in self.catalog.tracks.index]
        )
        return pd.concat([self.catalog.tracks.loc[in_catalog], stored])

    def _remember(
        self,
        user_id: int,
        model: TasteModel,
        fingerprint: str,
        scores: np.ndarray | None = None,
        library: pd.DataFrame | None = None,
        tracks: pd.DataFrame | None = None,
        quick: bool = False,
    ) -> TrainedTaste:
        if library is None or tracks is None:
            library, tracks = self._library(user_id)
        if scores is None or len(scores) != self.catalog.size:
            # A model of another catalog: scored again here (a second, not a training).
            scores = model.score(self.catalog.tracks)
        # float32: ranks are what matter, and it halves the memory each user's scores hold.
        scores = np.asarray(scores, dtype=np.float32)
        trained = TrainedTaste(
            model=model,
            fingerprint=fingerprint,
            catalog_scores=scores,
            library=library,
            library_tracks=tracks,
            library_songs=song_pairs(tracks)[0],
            trained_at=time.time(),
            quick=quick,
        )
        with self._guard:
            held = self._cache.get(user_id)
            kept = not quick or held is None or held.quick  # a quick one never displaces a full one
            if kept:
                self._cache[user_id] = trained
                self._cache.move_to_end(user_id)
                while len(self._cache) > MAX_CACHED_USERS:
                    old, _ = self._cache.popitem(last=False)
                    self._full.pop(old, None)
        if kept and not quick:
            self._keep_full(user_id)
        return trained

    def _keep_full(self, user_id: int) -> None:
        """Mark ``user_id``'s forests as recently used; slim the least recent beyond the limit."""
        with self._guard:
            self._full[user_id] = None
            self._full.move_to_end(user_id)
            while len(self._full) > MAX_FULL_MODELS:
                old, _ = self._full.popitem(last=False)
                trained = self._cache.get(old)
                if trained is not None and not trained.quick:
                    ensemble = replace(trained.model.ensemble, rf=None, xgb=None)
                    self._cache[old] = replace(
                        trained, model=replace(trained.model, ensemble=ensemble)
                    )

    def scoring_model(self, user_id: int, trained: TrainedTaste) -> TasteModel | None:
        """``trained``'s model with its forests, reloaded from disk if they were slimmed away;
        None when that file is damaged (set aside: the next request trains a new model, and the
        catalog's scores in memory answer meanwhile)."""
        if trained.model.ensemble.rf is not None:
            if not trained.quick:
                self._keep_full(user_id)
            return trained.model
        record = self._record(user_id)
        if record is None or record["fingerprint"] != trained.fingerprint:
            stored = self.load_stored(user_id)  # a newer file replaced it meanwhile
            newer = stored.model if stored is not None else trained.model
            return newer if newer.ensemble.rf is not None else None
        model = self._load_file(user_id, Path(record["path"]))
        if model is None:
            with self._guard:
                self._cache.pop(user_id, None)
                self._full.pop(user_id, None)
            return None
        self._cache[user_id] = replace(trained, model=model)
        self._keep_full(user_id)
        return model


def _write_atomically(path: Path, data: bytes) -> None:
    """``data`` to ``path`` through a partial file, so a crash never leaves half a model."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    os.replace(partial, path)


def _write_scores(path: Path, scores: np.ndarray) -> None:
    """A model's catalog scores (float32, plain .npy, no pickle), written atomically."""
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(scores, dtype=np.float32), allow_pickle=False)
    _write_atomically(path, buffer.getvalue())
