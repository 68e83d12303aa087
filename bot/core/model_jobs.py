"""What model work is: the jobs the core hands to training workers, and what comes back.

A job carries everything its worker needs except the catalog, which a worker holds already (a
process of the embedded pool gets it when it starts; a ``beatmatch worker`` on another machine
fetches it once per catalog version). What comes back is the model's file, as bytes, and for a
taste model the whole catalog scored with it, so the bot never trains nor re-scores.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from recommender.taste import TasteSettings


@dataclass(frozen=True)
class TasteJob:
    """Train one listener's taste model and score the catalog with it."""

    user_id: int
    fingerprint: str  # what the model is trained on: catalog version + taste version
    catalog: str  # the catalog version the worker must hold
    quick: bool  # a first, lighter model served while the full one trains
    library: pd.DataFrame  # track_id, source, rank, added_at
    tracks: pd.DataFrame  # track table of the library and of liked tracks outside it
    feedback: Mapping[str, int]
    top_artists: pd.DataFrame  # artist, time_range, rank
    settings: TasteSettings

    @property
    def key(self) -> str:
        """The queue's key: one pending job per listener and kind."""
        return taste_key(self.user_id, self.quick)


@dataclass(frozen=True)
class GenreJob:
    """Train the genre classifier of a catalog version."""

    catalog: str
    n_jobs: int = 2

    @property
    def key(self) -> str:
        """The queue's key: one job per catalog version."""
        return f"genre:{self.catalog}"


Job = TasteJob | GenreJob


@dataclass(frozen=True)
class TrainedFile:
    """A worker's answer: the model file's bytes (plain arrays, no pickle), the catalog's scores
    for a taste model — shape (catalog size,), float32, in the catalog's row order —, the seconds
    it took and what the model reports of itself."""

    model: bytes
    scores: np.ndarray | None = None
    seconds: float = 0.0
    info: Mapping[str, float] = field(default_factory=dict)


class TrainingRefused(Exception):
    """The data can't make a model (e.g. too few library tracks with audio features)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class WorkerLost(Exception):
    """The worker running a job stopped answering (killed, out of memory, gone)."""


def taste_key(user_id: int, quick: bool = False) -> str:
    """The queue key of a listener's taste model (the quick one has its own)."""
    return f"taste{'-quick' if quick else ''}:{user_id}"
