"""Genre beyond the catalog from a listener's own library: Spotify's artist genres (the "Genres"
column of their Exportify file) mapped onto the catalog's genres and combined with the classifier.

For a track the catalog does not label, the evidence is the track's own "Genres" cell, else its
artist's genres from any other track of the listener's library. The map from Spotify genres to
catalog genres is fitted on the listener's library tracks whose artists the catalog labels (the
catalog's artists are the prior it learns from) and kept per listener until their genres change.
The classifier's own probabilities already lean on the catalog's labels of a known artist.
Everything here blocks (SQLite, numpy): callers run it off the event loop.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from bot.core.lookup.genre_models import GenreModels
from storage.taste_store import TasteStore
from storage.track_store import TrackStore

if TYPE_CHECKING:  # recommender.genre loads xgboost: imported where a genre is asked, not at start
    from recommender.genre.spotify_genres import SpotifyGenreMap

#: Listeners whose fitted map is kept in memory (a fit costs a few milliseconds).
KEPT_LISTENERS = 256


@dataclass(frozen=True)
class Answer:
    """A track's genre probabilities (the classifier's classes) and whether Genres evidence helped."""

    proba: np.ndarray
    from_genres: bool

    def top_k(self, classes: list[str], k: int) -> list[tuple[str, float]]:
        """The ``k`` likeliest genres with their probabilities, likeliest first."""
        order = np.argsort(-self.proba, kind="stable")[:k]
        return [(classes[j], float(self.proba[j])) for j in order]


@dataclass(frozen=True)
class _Fitted:
    """One listener's map and Genres cells, for one version of their cells and one classifier."""

    key: tuple[int, int]
    mapping: SpotifyGenreMap
    cells: dict[str, str]  # track_id → the track's own "Genres" cell
    by_artist: dict[str, str]  # case-folded first artist → their genres across the library


class ListenerGenres:
    """The classifier's answer, moved by the listener's Exportify Genres when it has some."""

    def __init__(self, genres: GenreModels, taste: TasteStore, tracks: TrackStore) -> None:
        self.genres = genres
        self.taste = taste
        self.tracks = tracks
        self._fitted: OrderedDict[int, _Fitted] = OrderedDict()
        self._lock = threading.Lock()

    def answer(self, uid: int, track_id: str, seed: pd.DataFrame) -> Answer:
        """Genre probabilities of the one track in ``seed`` for listener ``uid`` (blocking;
        GenreNotReady until the classifier is in memory)."""
        from recommender.genre.prior import track_artists
        from recommender.genre.spotify_genres import with_artist_genres

        model = self.genres.model()
        proba = model.predict_proba(seed)
        fitted = self._fit(uid)
        if fitted is None:
            return Answer(proba[0], False)
        cell = fitted.cells.get(track_id, "")
        if not cell:
            first = track_artists(seed)[0][:1]
            cell = fitted.by_artist.get(first[0], "") if first else ""
        evidence = fitted.mapping.evidence([cell])
        if not evidence.any():
            return Answer(proba[0], False)
        return Answer(with_artist_genres(proba, evidence)[0], True)

    def _fit(self, uid: int) -> _Fitted | None:
        """The listener's map, fitted again only when their Genres cells (or the classifier)
        changed; None when their library carries no Genres."""
        from recommender.genre.prior import track_artists
        from recommender.genre.spotify_genres import SpotifyGenreMap, artist_genre_cells

        cells = self.taste.library_genres(uid)
        if not cells:
            return None
        model = self.genres.model()
        key = (id(model), hash(frozenset(cells.items())))
        with self._lock:
            held = self._fitted.get(uid)
            if held is not None and held.key == key:
                self._fitted.move_to_end(uid)
                return held
        library = self.tracks.get_tracks(self.taste.library(uid)["track_id"])
        artists = [a[:1] for a in track_artists(library)]
        own = [cells.get(str(t), "") for t in library.index]
        by_artist = artist_genre_cells(artists, own)
        known = [
            c or (by_artist.get(a[0], "") if a else "") for c, a in zip(own, artists, strict=True)
        ]
        counts = model.priors["artist"].lookup(artists)  # the catalog's labels of each artist
        mapping = SpotifyGenreMap.fit(known, counts, model.classes)
        fitted = _Fitted(key, mapping, cells, by_artist)
        with self._lock:
            self._fitted[uid] = fitted
            self._fitted.move_to_end(uid)
            while len(self._fitted) > KEPT_LISTENERS:
                self._fitted.popitem(last=False)
        return fitted
