"""A job done in a worker process: fit the model, serialise it, score the catalog with it.

Runs wherever a worker runs (a process of the embedded pool, or ``beatmatch worker`` on another
machine); it needs the catalog the job names and nothing else of the bot — no database, no network.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bot.core.model_jobs import GenreJob, Job, TasteJob, TrainedFile, TrainingRefused

log = logging.getLogger(__name__)
Progress = Callable[[str], None]


@dataclass(frozen=True)
class WorkerCatalog:
    """The catalog a worker holds: its version, track table and genre labels."""

    fingerprint: str
    tracks: pd.DataFrame
    genres: pd.DataFrame


class CatalogMismatch(Exception):
    """The job names another catalog version than the worker holds."""


def execute(job: Job, catalog: WorkerCatalog, progress: Progress | None = None) -> TrainedFile:
    """Do ``job`` against ``catalog``; TrainingRefused when the data can't make a model."""
    if job.catalog != catalog.fingerprint:
        raise CatalogMismatch(f"job for catalog {job.catalog}, worker holds {catalog.fingerprint}")
    if isinstance(job, TasteJob):
        return _taste(job, catalog)
    return _genre(job, catalog, progress)


def _taste(job: TasteJob, catalog: WorkerCatalog) -> TrainedFile:
    from recommender.taste import NotEnoughTaste, TasteModel

    started = time.perf_counter()
    try:
        model = TasteModel.fit(
            job.library,
            job.tracks,
            catalog.tracks,
            job.feedback,
            top_artists=job.top_artists,
            settings=job.settings,
        )
    except NotEnoughTaste as error:
        raise TrainingRefused(str(error)) from None
    # float32: ranks are what matter, and it halves what each user's scores hold in the bot.
    scores = model.score(catalog.tracks).astype(np.float32)
    seconds = time.perf_counter() - started
    return TrainedFile(_bytes(model.save), scores, seconds, dict(model.info))


def _genre(job: GenreJob, catalog: WorkerCatalog, progress: Progress | None) -> TrainedFile:
    from recommender.genre import GenreClassifier

    started = time.perf_counter()
    model = GenreClassifier.fit(
        catalog.tracks, catalog.genres, n_jobs=job.n_jobs, progress=progress
    )
    return TrainedFile(_bytes(model.save), None, time.perf_counter() - started)


def _bytes(save: Callable[[Path], None]) -> bytes:
    """What ``save`` writes, as bytes (models write files atomically; this is their file)."""
    with tempfile.TemporaryDirectory(prefix="beatmatch-model-") as folder:
        path = Path(folder) / "model.npz"
        save(path)
        return path.read_bytes()
