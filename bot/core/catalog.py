"""The catalog the bot recommends from: the imported one, or the synthetic demo when there is none."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recommender.demo_catalog import demo_catalog

log = logging.getLogger(__name__)

DEMO_NOTE = (
    "(demo catalog: invented tracks whose links open nothing. Import a real one with "
    "`beatmatch import-catalog PATH` or set catalog.path in config.toml.)"
)


@dataclass
class CatalogState:
    """The catalog in memory: its track table, genre labels, and whether it is the demo."""

    tracks: pd.DataFrame
    genres: pd.DataFrame
    is_demo: bool
    fingerprint: str = ""

    def __post_init__(self) -> None:
        if not self.fingerprint:
            digest = hashlib.sha256()
            digest.update(str(len(self.tracks)).encode())
            digest.update("".join(self.tracks.index[:: max(1, len(self.tracks) // 500)]).encode())
            digest.update(np.nan_to_num(self.tracks["energy"].to_numpy()).tobytes())
            self.fingerprint = digest.hexdigest()[:16]

    @property
    def size(self) -> int:
        """Number of tracks."""
        return len(self.tracks)

    def labels(self, track_id: str) -> list[str]:
        """The catalog's genre labels of a track ([] if none or unknown)."""
        return self.labels_of([track_id]).get(track_id, [])

    def labels_of(self, track_ids: Iterable[str]) -> dict[str, list[str]]:
        """The catalog's genre labels of many tracks at once (tracks without labels absent)."""
        wanted = self.genres[self.genres["track_id"].isin(list(track_ids))]
        grouped = wanted.groupby("track_id", observed=True)["genre"]
        return {str(t): [str(g) for g in genres] for t, genres in grouped}

    @property
    def note(self) -> str:
        """The line every reply that uses the demo catalog carries ("" for a real catalog)."""
        return DEMO_NOTE if self.is_demo else ""


def demo_state(size: int) -> CatalogState:
    """The deterministic synthetic demo catalog."""
    tracks, genres = demo_catalog(size=size)
    return CatalogState(tracks=tracks, genres=genres, is_demo=True)
