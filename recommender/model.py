"""The interface every beatmatch model shares: fit / predict / save / load.

The taste model (:class:`recommender.taste.TasteModel`) and the genre classifier
(:class:`recommender.genre.GenreClassifier`) both implement it; each one's ``fit`` takes its own
training data (a listener's library; a labelled catalog), and ``predict`` reads a track table.
Every implementation runs the same contract tests (``tests/unit/model_contract.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, Self

import numpy as np
import pandas as pd


class TrackModel(Protocol):
    """A model fitted on track tables that predicts one row per track.

    ``save`` writes one file of plain arrays (no pickle) atomically; ``load`` reads it back and
    raises ValueError for a file it cannot read, whatever the file holds.
    """

    @classmethod
    def fit(cls, *args: Any, **kwargs: Any) -> Self:
        """Train on the model's own kind of training data."""
        ...

    def predict(self, tracks: pd.DataFrame) -> np.ndarray:
        """One prediction row per track of ``tracks``, shape (n_tracks, …), finite."""
        ...

    def save(self, path: Path) -> None:
        """Write the model to ``path``."""
        ...

    @classmethod
    def load(cls, path: Path) -> Self:
        """Read a model written by :meth:`save`; ValueError for any other file."""
        ...


if TYPE_CHECKING:  # mypy checks that both models implement the interface; nothing runs here
    from recommender.genre import GenreClassifier
    from recommender.taste import TasteModel

    _TASTE: type[TrackModel] = TasteModel
    _GENRE: type[TrackModel] = GenreClassifier
