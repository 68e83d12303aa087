"""Per-user taste models: trained on demand, cached in memory with their catalog scores, persisted
in the data directory, retrained in the background when the library or feedback changes.

Everything here is blocking (model fitting, sqlite); the service calls it from worker threads.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd

from bot.core.catalog import CatalogState
from bot.core.errors import UserFacingError
from recommender.candidates import song_hashes
from recommender.taste import NotEnoughTaste, TasteModel, TasteSettings
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


class NoLibrary(UserFacingError):
    """The user has no library to learn from yet."""


class TrainingStopped(UserFacingError):
    """The bot is shutting down: no model is trained or saved any more."""

    def __init__(self) -> None:
        super().__init__("I'm restarting; ask again in a minute.")


@dataclass(frozen=True)
class TrainedTaste:
    """A user's model with the catalog already scored (so /recommend only selects)."""

    model: TasteModel
    fingerprint: str
    catalog_scores: np.ndarray  # (catalog size,), aligned with catalog.tracks.index
    library: pd.DataFrame  # library rows: track_id, source, rank, added_at
    library_tracks: pd.DataFrame  # track table of the library
    library_songs: np.ndarray  # song hashes of the library (``song_hashes``), for exclusions
    trained_at: float
    quick: bool = False  # a first, lighter model served while the full one trains


class TasteModels:
    """Training, caching and loading of per-user taste models."""

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
        #: Set at shutdown: training not begun is refused and a fit in progress is not saved.
        self.stopping = threading.Event()

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
        """Erase the user: waits for a training run in progress, then drops the model from memory
        and disk and calls ``erase_rows`` under the same lock, so no late save can resurrect it."""
        with self._lock(user_id):
            self._cache.pop(user_id, None)
            self._full.pop(user_id, None)
            self._path(user_id).unlink(missing_ok=True)
            return erase_rows(user_id)

    def cached_count(self) -> int:
        """How many users' models are in memory."""
        return len(self._cache)

    def _path(self, user_id: int) -> Path:
        return self.models_dir / f"taste-user{user_id}.npz"

    def _lock(self, user_id: int) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(user_id, threading.Lock())

    def _library(self, user_id: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        library = self.taste.library(user_id)
        if library.empty:
            raise NoLibrary(
                "I don't know your taste yet. Send an Exportify CSV with /import "
                "(exportify.net → Liked Songs → Export)."
            )
        tracks = self.tracks.get_tracks(library["track_id"].unique())
        return library, tracks

    def has_stored(self, user_id: int) -> bool:
        """Whether a current model is on disk (loading it takes a second, not a training)."""
        return self._current_file(user_id, self.fingerprint(user_id)) is not None

    def _current_file(self, user_id: int, fingerprint: str) -> Path | None:
        """The stored model file trained on ``fingerprint``, if there is one."""
        record = self.taste.model_record(user_id, MODEL_KIND)
        if record and record["fingerprint"] == fingerprint and Path(record["path"]).is_file():
            return Path(record["path"])
        return None

    def load_stored(self, user_id: int) -> TrainedTaste | None:
        """A current model from memory or disk, without training (None if there is none)."""
        with self._lock(user_id):
            return self._stored(user_id)

    def _stored(self, user_id: int) -> TrainedTaste | None:
        trained = self._cache.get(user_id)
        if self.is_current(trained, user_id):
            return trained
        fingerprint = self.fingerprint(user_id)
        path = self._current_file(user_id, fingerprint)
        if path is not None:
            try:
                model = TasteModel.load(path)
                return self._remember(user_id, model, fingerprint)
            except (ValueError, OSError, EOFError) as error:
                log.warning(
                    "stored taste model of user %s unusable (%s); retraining", user_id, error
                )
        return None

    def load_or_train(self, user_id: int) -> TrainedTaste:
        """A current model: from memory, from disk, or freshly trained (blocking)."""
        with self._lock(user_id):
            stored = self._stored(user_id)
            if stored is not None:
                return stored
            return self._train(user_id, self.fingerprint(user_id), self.settings)

    def first_model(self, user_id: int) -> TrainedTaste:
        """The stored model if there is a current one, else a quick one (see ``train_quick``)."""
        with self._lock(user_id):  # under the lock, so /forget waits for it and drops it after
            stored = self._stored(user_id)
            return stored if stored is not None else self.train_quick(user_id)

    def train_quick(self, user_id: int) -> TrainedTaste:
        """A light model for a user who has none yet (seconds, not tens of seconds); it is served
        until the full model, trained next, replaces it. Not stored on disk. Callers hold the
        user's lock (``first_model``)."""
        return self._train(user_id, self.fingerprint(user_id), self.settings.quick(), persist=False)

    def _train(
        self, user_id: int, fingerprint: str, settings: TasteSettings, persist: bool = True
    ) -> TrainedTaste:
        if self.stopping.is_set():
            raise TrainingStopped
        library, tracks = self._library(user_id)
        feedback = self.taste.feedback(user_id)
        extra = [t for t in feedback if t not in tracks.index]
        if extra:
            tracks = pd.concat([tracks, self._known_tracks(extra)])
        started = time.perf_counter()
        try:
            model = TasteModel.fit(
                library,
                tracks,
                self.catalog.tracks,
                feedback,
                top_artists=self.taste.top_artists(user_id),
                settings=settings,
            )
        except NotEnoughTaste as error:
            raise NoLibrary(
                f"Your library has too few tracks with audio features to learn from ({error}). "
                "Import a larger Exportify export, or a catalog that holds your tracks."
            ) from None
        if self.stopping.is_set():  # the database may be closed by now
            raise TrainingStopped
        if not persist:
            return self._remember(user_id, model, fingerprint, library, tracks, quick=True)
        path = self._path(user_id)
        model.save(path)
        self.taste.save_model_record(
            user_id,
            MODEL_KIND,
            str(path),
            fingerprint,
            {**model.info, "seconds": time.perf_counter() - started},
        )
        log.info(
            "trained taste model for user %s on %d tracks in %.1f s",
            user_id,
            model.trained_on,
            time.perf_counter() - started,
        )
        return self._remember(user_id, model, fingerprint, library, tracks)

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
        library: pd.DataFrame | None = None,
        tracks: pd.DataFrame | None = None,
        quick: bool = False,
    ) -> TrainedTaste:
        if library is None or tracks is None:
            library, tracks = self._library(user_id)
        # float32: ranks are what matter, and it halves the memory each user's scores hold.
        scores = model.score(self.catalog.tracks).astype(np.float32)
        trained = TrainedTaste(
            model=model,
            fingerprint=fingerprint,
            catalog_scores=scores,
            library=library,
            library_tracks=tracks,
            library_songs=song_hashes(tracks),
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

    def scoring_model(self, user_id: int, trained: TrainedTaste) -> TasteModel:
        """``trained``'s model with its forests, reloaded from disk if they were slimmed away."""
        if trained.model.ensemble.rf is not None:
            if not trained.quick:
                self._keep_full(user_id)
            return trained.model
        path = self._current_file(user_id, trained.fingerprint)
        if path is None:
            return self.load_or_train(user_id).model
        model = TasteModel.load(path)
        self._cache[user_id] = replace(trained, model=model)
        self._keep_full(user_id)
        return model
