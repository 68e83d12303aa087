"""The genre classifier of the current catalog: loaded from the data directory, or trained on first
use (never stored in git). Blocking; called from worker threads."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from bot.core.catalog import CatalogState

if TYPE_CHECKING:
    from recommender.genre import GenreClassifier

log = logging.getLogger(__name__)


class GenreModels:
    """One GenreClassifier per catalog fingerprint, trained lazily."""

    def __init__(self, catalog: CatalogState, models_dir: Path, n_jobs: int = 2) -> None:
        self.catalog = catalog
        self.models_dir = models_dir
        self.n_jobs = n_jobs
        self._model: GenreClassifier | None = None
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        """Where the classifier for this catalog is stored."""
        return self.models_dir / f"genre-{self.catalog.fingerprint}.model"

    @property
    def ready(self) -> bool:
        """True when a prediction will not have to train first."""
        return self._model is not None or self.path.exists()

    def model(self) -> GenreClassifier:
        """The classifier: from memory, from disk, or trained now (about a minute on 76k tracks)."""
        from recommender.genre import GenreClassifier  # heavy: imported on first use

        with self._lock:
            if self._model is not None:
                return self._model
            if self.path.exists():
                try:
                    self._model = GenreClassifier.load(self.path)
                    return self._model
                except (ValueError, OSError, KeyError) as error:
                    log.warning("stored genre model unusable (%s); retraining", error)
            started = time.perf_counter()
            model = GenreClassifier.fit(
                self.catalog.tracks,
                self.catalog.genres,
                n_jobs=self.n_jobs,
                progress=lambda message: log.info("genre: %s", message),
            )
            self.models_dir.mkdir(parents=True, exist_ok=True)
            model.save(self.path)
            log.info(
                "trained the genre model on %d tracks in %.0f s",
                self.catalog.size,
                time.perf_counter() - started,
            )
            self._model = model
            return model

    def top_k(self, tracks: pd.DataFrame, k: int = 3) -> list[list[tuple[str, float]]]:
        """The ``k`` likeliest genres of each track with probabilities (may train first)."""
        return self.model().predict_top_k(tracks, k=k)

    def top3(self, tracks: pd.DataFrame) -> list[tuple[str, float]]:
        """The classifier's three likeliest genres of the first track in ``tracks``."""
        return self.top_k(tracks, k=3)[0]
