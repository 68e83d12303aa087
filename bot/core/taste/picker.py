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
from storage.shown_store import ShownStore
from storage.taste_store import TasteStore


class TastePicker:
    """Picks tracks for a context from a user's taste (blocking: call from a worker thread)."""

    def __init__(
        self,
        models: TasteModels,
        taste: TasteStore,
        catalog: CatalogState,
        *,
        shown: ShownStore | None = None,
        fresh_days: float = 0.0,
    ) -> None:
        self.models = models
        self.taste = taste
        self.catalog = catalog
        self.shown = shown
        self.fresh_days = fresh_days  # 0: picks may repeat what other lists showed lately

    def pick(
        self,
        uid: int,
        context: Context,
        n: int,
        exclude: set[str],
        steer: Steer | None = None,
    ) -> list[tuple[str, str]]:
        """Up to ``n`` (track id, reason) for ``context``; with ``steer``, tracks expected to move
        the heart toward the goal zone rank higher (and the one that plays now comes first).

        ``exclude`` is never picked; tracks shown lately (``fresh_days``) only when too few others
        are left, after the new ones."""
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
        recent = self.recently_shown(uid)
        fresh = keep & allowed(tracks.index, recent) if recent else keep
        picks = pick(
            tracks, taste, fresh, n, library=library, profile=profile, context=context, steer=steer
        )
        if len(picks) < n and recent:  # nothing new enough left: fill with tracks shown lately
            again = pick(
                tracks,
                taste,
                keep,
                n,
                library=library,
                profile=profile,
                context=context,
                steer=steer,
            )
            taken = {t for t, _ in picks}
            picks += [p for p in again if p[0] not in taken][: n - len(picks)]
        return picks

    def recently_shown(self, uid: int) -> set[str]:
        """The tracks any list showed the listener in the last ``fresh_days`` days."""
        if self.shown is None or self.fresh_days <= 0:
            return set()
        return self.shown.since(uid, self.fresh_days)

    def remember(self, uid: int, track_ids: list[str]) -> None:
        """``track_ids`` were just shown to the listener (by a workout or the digest)."""
        if self.shown is not None and track_ids:
            self.shown.remember(uid, track_ids)
