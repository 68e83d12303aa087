"""Tracks for a moment, without a command: the next workout tracks and the weekly digest.

The workout and digest features receive ``TastePicker.pick`` as their ``Picker`` port. It never
trains: the user's model in memory, else their stored one (loaded in the calling worker thread),
else the catalog's popularity stands in for taste.
"""

from __future__ import annotations

import numpy as np

from bot.core.catalog import CatalogState
from bot.core.taste.models import TasteModels
from recommender.context import Context
from recommender.ranking import Steer, allowed, pick
from storage.taste_store import TasteStore


class TastePicker:
    """Picks tracks for a context from a user's taste (blocking: call from a worker thread)."""

    def __init__(self, models: TasteModels, taste: TasteStore, catalog: CatalogState) -> None:
        self.models = models
        self.taste = taste
        self.catalog = catalog

    def pick(
        self,
        uid: int,
        context: Context,
        n: int,
        exclude: set[str],
        steer: Steer | None = None,
    ) -> list[tuple[str, str]]:
        """Up to ``n`` (track id, reason) for ``context``; with ``steer``, tracks expected to move
        the heart toward the goal zone rank higher (and the one that plays now comes first)."""
        tracks = self.catalog.tracks
        disliked = {t for t, v in self.taste.feedback(uid).items() if v < 0}
        exclude = exclude | disliked
        trained = self.models.cached(uid) or self.models.load_stored(uid)
        if trained is not None:
            scores = trained.catalog_scores
            exclude = exclude | set(trained.library["track_id"])
            library, profile = trained.library_tracks, trained.model.profile
        else:
            scores = tracks["popularity"].fillna(0).to_numpy(dtype=float)
            library, profile = tracks.iloc[0:0], None
        # Other releases of the songs excluded (owned, disliked, suggested) are left out too.
        songs = self.catalog.songs_of(exclude, trained.library_songs if trained else None)
        keep = allowed(tracks.index, exclude) & ~self.catalog.same_songs(songs)
        taste = np.asarray(scores, dtype=float)
        return pick(
            tracks, taste, keep, n, library=library, profile=profile, context=context, steer=steer
        )
