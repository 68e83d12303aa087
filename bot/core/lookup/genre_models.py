"""The genre classifier of the current catalog: trained ahead of time, kept in the data directory
(never in git), loaded once, reused until the catalog changes.

The bot never trains it inside a command: at start (and so right after a catalog import) it is
loaded in the background when its file is there, else queued as model work; until it is ready,
/genre and /similar answer from the catalog's labels and say the classifier is on its way.
``beatmatch train-genre`` and ``beatmatch import-catalog`` train it in their own process.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from bot.core.catalog import CatalogState
from bot.core.errors import UserFacingError
from bot.core.model_jobs import GenreJob, Job, TrainedFile
from bot.core.model_work import ModelWork, Priority
from recommender.model_file import UNREADABLE_MODEL, set_aside

if TYPE_CHECKING:
    from recommender.genre import GenreClassifier

log = logging.getLogger(__name__)


class GenreNotReady(Exception):
    """The classifier is not in memory yet (loading or training in the background)."""


class GenreModels:
    """One GenreClassifier per catalog version."""

    def __init__(
        self,
        catalog: CatalogState,
        models_dir: Path,
        work: ModelWork | None = None,
        n_jobs: int = 2,
    ) -> None:
        """``work``: the queue that trains it (None: only ``train_here`` can)."""
        self.catalog = catalog
        self.models_dir = models_dir
        self.work = work
        self.n_jobs = n_jobs
        self._model: GenreClassifier | None = None
        self._lock = threading.Lock()
        self._preparing: asyncio.Task[None] | None = None

    @property
    def path(self) -> Path:
        """Where the classifier for this catalog is stored."""
        return self.models_dir / f"genre-{self.catalog.fingerprint}.model"

    @property
    def ready(self) -> bool:
        """True when the classifier is in memory: a prediction costs milliseconds."""
        return self._model is not None

    @property
    def stored(self) -> bool:
        """True when the classifier's file is there (loading it takes a few seconds)."""
        return self.path.is_file()

    def status(self) -> str:
        """Where the classifier stands, for a reply: ready, loading or training."""
        if self.ready:
            return "ready"
        return "loading" if self.stored else "training"

    def prepare(self) -> asyncio.Task[None]:
        """Load the stored classifier in the background, or queue its training (idempotent)."""
        if self._preparing is None or (
            self._preparing.done() and not self.ready and not self._preparing.cancelled()
        ):
            self._preparing = asyncio.get_running_loop().create_task(self._prepare())
            self._preparing.add_done_callback(_prepared)
        return self._preparing

    async def _prepare(self) -> None:
        if self.ready:
            return
        if self.stored and await asyncio.to_thread(self.load) is not None:
            return
        if self.work is None:
            return
        job = GenreJob(self.catalog.fingerprint, self.n_jobs)
        await self.work.submit(job.key, Priority.CATALOG, lambda: job, self._adopt)

    async def _adopt(self, job: Job, answer: TrainedFile) -> None:
        await asyncio.to_thread(self._store_and_load, answer)
        log.info(
            "trained the genre model on %d tracks in %.0f s (in a worker)",
            self.catalog.size,
            answer.seconds,
        )

    def _store_and_load(self, answer: TrainedFile) -> None:
        self.models_dir.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".partial")
        partial.write_bytes(answer.model)
        os.replace(partial, self.path)
        self.load()

    def load(self) -> GenreClassifier | None:
        """The classifier from memory or its file (blocking); None when there is none yet or the
        file is unusable (it is then removed, to be trained again)."""
        from recommender.genre import GenreClassifier  # heavy: imported on first use

        with self._lock:
            if self._model is not None:
                return self._model
            if not self.path.is_file():
                return None
            try:
                self._model = GenreClassifier.load(self.path)
            except UNREADABLE_MODEL as error:
                moved = set_aside(self.path)
                log.warning(
                    "the stored genre model, %s, is unreadable (%s): %s; it will be trained again",
                    self.path,
                    error,
                    f"set aside as {moved.name}" if moved else "removed",
                )
                return None
            return self._model

    def train_here(self, progress: Callable[[str], None] | None = None) -> GenreClassifier:
        """Train in this process and store (the CLI's train-genre and import-catalog; never the
        bot, which queues the training instead)."""
        from recommender.genre import GenreClassifier

        started = time.perf_counter()
        model = GenreClassifier.fit(
            self.catalog.tracks,
            self.catalog.genres,
            n_jobs=self.n_jobs,
            progress=progress or (lambda message: log.info("genre: %s", message)),
        )
        self.models_dir.mkdir(parents=True, exist_ok=True)
        model.save(self.path)
        log.info(
            "trained the genre model on %d tracks in %.0f s",
            self.catalog.size,
            time.perf_counter() - started,
        )
        with self._lock:
            self._model = model
        return model

    def top_k(self, tracks: pd.DataFrame, k: int = 3) -> list[list[tuple[str, float]]]:
        """The ``k`` likeliest genres of each track with probabilities; GenreNotReady until the
        classifier is in memory."""
        model = self._model
        if model is None:
            raise GenreNotReady
        return model.predict_top_k(tracks, k=k)

    def model(self) -> GenreClassifier:
        """The classifier in memory; GenreNotReady until it is there."""
        model = self._model
        if model is None:
            raise GenreNotReady
        return model

    def top3(self, tracks: pd.DataFrame) -> list[tuple[str, float]]:
        """The classifier's three likeliest genres of the first track in ``tracks``."""
        return self.top_k(tracks, k=3)[0]


def _prepared(task: asyncio.Task[None]) -> None:
    if task.cancelled():
        return
    error = task.exception()
    if error is not None and not isinstance(error, UserFacingError):  # not "restarting"
        log.error("the genre model could not be prepared", exc_info=error)
