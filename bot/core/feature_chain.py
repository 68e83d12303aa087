"""The feature-source chain: catalog → ReccoBeats → Spotify's legacy endpoint → missing.

Shared by the taste feature (a linked library's tracks, search candidates) and the lookup feature
(/genre and /similar of any Spotify track). Every answer is cached in SQLite: features in the features table (a source never overwrites a
better one), and "this source doesn't know that track" in feature_misses, so no source is asked
about the same track twice within ``MISS_TTL_SECONDS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bot.core.catalog import CatalogState
from bot.core.errors import UserFacingError
from bot.core.ports import FeatureSource, SpotifyAccount, SpotifyTrack
from bot.core.progress import Notify
from recommender.tracks import AUDIO_FEATURES
from storage.track_store import TrackStore

log = logging.getLogger(__name__)
MISS_TTL_SECONDS = 30 * 86400.0
#: Track fields a source may give beside the features (ReccoBeats: popularity, duration); a
#: blank never replaces a stored value.
TRACK_DETAILS = ("popularity", "duration_ms")
PROGRESS_EVERY_SECONDS = 2.0


@dataclass
class FillReport:
    """What one fill found: tracks already known, found per source, still missing."""

    asked: int = 0
    known: int = 0
    found: dict[str, int] = field(default_factory=dict)
    missing: int = 0
    failed_sources: list[str] = field(default_factory=list)

    def add(self, other: FillReport) -> None:
        """Count ``other`` (a fill of other tracks) into this report."""
        self.asked += other.asked
        self.known += other.known
        for name, count in other.found.items():
            self.found[name] = self.found.get(name, 0) + count
        self.missing += other.missing
        self.failed_sources += [s for s in other.failed_sources if s not in self.failed_sources]

    def summary(self) -> str:
        """One sentence for the chat."""
        parts = [f"{self.known} already known"]
        parts += [f"{n} from {name}" for name, n in self.found.items() if n]
        text = f"Audio features for {self.asked - self.missing} of {self.asked} tracks ({', '.join(parts)})"
        if self.failed_sources:
            text += f"; {', '.join(self.failed_sources)} could not be reached"
        return text + "."


def track_frame(tracks: Sequence[SpotifyTrack]) -> pd.DataFrame:
    """A track table (no features yet) of Spotify tracks, each once."""
    unique = {t.track_id: t for t in reversed(tracks)}  # the first occurrence wins
    return pd.DataFrame(
        {
            "name": [t.name for t in unique.values()],
            "artists": [";".join(t.artists) for t in unique.values()],
            "album": [t.album for t in unique.values()],
            "duration_ms": [t.duration_ms for t in unique.values()],
            "explicit": [t.explicit for t in unique.values()],
            "release_year": [t.release_year for t in unique.values()],
            "popularity": np.nan,  # no longer given by Spotify (ReccoBeats fills it in)
        },
        index=pd.Index(list(unique), name="track_id"),
    )


class LegacySpotifyFeatures:
    """Spotify's own ``GET /audio-features`` as a feature source (only for apps that still have it)."""

    name = "spotify_legacy"
    batch_size = 100
    concurrency = 2

    def __init__(self, account: SpotifyAccount) -> None:
        self.account = account

    @contextlib.asynccontextmanager
    async def opened(self) -> AsyncIterator[object]:
        """Nothing to open: the account's client is already there."""
        yield self

    async def features(self, track_ids: Sequence[str]) -> Mapping[str, Mapping[str, float]]:
        """Features Spotify still returns for ``track_ids``."""
        return await self.account.audio_features(track_ids)


class FeatureChain:
    """Fills in audio features for tracks, asking each source only about what is still unknown."""

    def __init__(
        self,
        tracks: TrackStore,
        sources: Sequence[FeatureSource],
        catalog: CatalogState | None = None,
        *,
        legacy_spotify: bool = False,
    ) -> None:
        """``legacy_spotify``: after the other sources, ask the user's Spotify's legacy
        ``/audio-features`` (only apps created before its removal still have it)."""
        self.tracks = tracks
        self.sources = list(sources)
        self.catalog = catalog
        self.legacy_spotify = legacy_spotify
        self.progress_every = PROGRESS_EVERY_SECONDS
        # One gate a source, shared by every fill running at once (a feed runs several).
        self._gates: dict[tuple[str, int], asyncio.Semaphore] = {}
        self._gates_loop: asyncio.AbstractEventLoop | None = None

    def extra_sources(self, account: SpotifyAccount | None) -> list[FeatureSource]:
        """Sources after the chain's own: Spotify's legacy endpoint, in legacy mode only."""
        if account is None or not self.legacy_spotify:
            return []
        return [LegacySpotifyFeatures(account)]

    async def store_tracks(
        self, tracks: Sequence[SpotifyTrack], account: SpotifyAccount | None = None
    ) -> tuple[pd.DataFrame, FillReport]:
        """Store the rows of Spotify ``tracks`` and fill in their features (with ``account``'s
        legacy endpoint in legacy mode): their stored track table and the fill report."""
        await asyncio.to_thread(self.tracks.upsert_tracks, track_frame(tracks), "spotify")
        ids = [t.track_id for t in tracks]
        report = await self.fill(ids, extra=self.extra_sources(account))
        return await asyncio.to_thread(self.tracks.get_tracks, ids), report

    def _gate(self, source: FeatureSource) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if loop is not self._gates_loop:  # semaphores belong to one loop
            self._gates, self._gates_loop = {}, loop
        key = (source.name, max(1, source.concurrency))
        gate = self._gates.get(key)
        if gate is None:
            gate = self._gates[key] = asyncio.Semaphore(key[1])
        return gate

    async def fill(
        self,
        track_ids: Iterable[str],
        *,
        extra: Sequence[FeatureSource] = (),
        notify: Notify | None = None,
    ) -> FillReport:
        """Find features for ``track_ids`` (stored ones first, then each source in turn)."""
        ids = list(dict.fromkeys(track_ids))
        pending = await asyncio.to_thread(self.unknown, ids)
        report = await self.fill_unknown(pending, extra=extra, notify=notify)
        report.asked += len(ids) - len(pending)
        report.known += len(ids) - len(pending)
        return report

    async def fill_unknown(
        self,
        pending: Sequence[str],
        *,
        extra: Sequence[FeatureSource] = (),
        notify: Notify | None = None,
    ) -> FillReport:
        """Ask the sources, in turn, about tracks without stored features (see ``unknown``)."""
        pending = list(pending)
        report = FillReport(asked=len(pending))
        for source in [*self.sources, *extra]:
            if not pending:
                break
            since = time.time() - MISS_TTL_SECONDS
            missed = await asyncio.to_thread(
                self.tracks.feature_misses, pending, source.name, since
            )
            ask = [t for t in pending if t not in missed]
            if not ask:
                continue
            try:
                found = await self._ask(source, ask, notify)
            except UserFacingError as error:
                log.warning("feature source %s failed: %s", source.name, error.message)
                report.failed_sources.append(source.name)
                continue
            report.found[source.name] = len(found)
            pending = [t for t in pending if t not in found]
        report.missing = len(pending)
        return report

    def unknown(self, ids: Sequence[str]) -> list[str]:
        """Of ``ids``, those without stored features (blocking: sqlite); catalog rows only in
        memory (the demo) are stored first."""
        ids = list(ids)
        stored = self.tracks.feature_sources(ids)
        unknown = [t for t in ids if t not in stored]
        if self.catalog is not None and unknown:
            tracks = self.catalog.tracks
            in_catalog = tracks.loc[tracks.index.intersection(unknown)]
            in_catalog = in_catalog[in_catalog[list(AUDIO_FEATURES)].notna().any(axis=1)]
            if len(in_catalog):
                known = self.tracks.stored_track_ids(in_catalog.index)
                rows = in_catalog.loc[[t for t in in_catalog.index if t in known]]
                self.tracks.upsert_tracks(rows, "catalog")
                copied = set(rows.index)
                unknown = [t for t in unknown if t not in copied]
        return unknown

    async def _ask(
        self, source: FeatureSource, ids: list[str], notify: Notify | None
    ) -> dict[str, Mapping[str, float]]:
        """Ask ``source`` about ``ids`` in batches, concurrently; store hits and misses."""
        batches = [ids[i : i + source.batch_size] for i in range(0, len(ids), source.batch_size)]
        gate = self._gate(source)
        found: dict[str, Mapping[str, float]] = {}
        done = 0
        last_note = time.monotonic()

        async def one(batch: list[str]) -> None:
            nonlocal done, last_note
            async with gate:
                answer = await source.features(batch)
            hits = {t: answer[t] for t in batch if t in answer}
            misses = [t for t in batch if t not in answer]
            await asyncio.to_thread(self._store, source.name, hits, misses)
            found.update(hits)
            done += len(batch)
            if notify is not None and time.monotonic() - last_note >= self.progress_every:
                last_note = time.monotonic()
                await notify(f"Audio features: asked {source.name} about {done} of {len(ids)}…")

        async with source.opened():
            tasks = [asyncio.ensure_future(one(b)) for b in batches]
            try:
                await asyncio.gather(*tasks)
            except BaseException:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise
        return found

    def _store(
        self, source: str, hits: Mapping[str, Mapping[str, float]], misses: list[str]
    ) -> None:
        if hits:
            columns = (*AUDIO_FEATURES, *TRACK_DETAILS)
            frame = pd.DataFrame.from_dict(
                {t: {c: v.get(c) for c in columns} for t, v in hits.items()}, orient="index"
            )
            frame.index.name = "track_id"
            known = self.tracks.stored_track_ids(frame.index)
            self.tracks.upsert_tracks(frame.loc[[t for t in frame.index if t in known]], source)
        if misses:
            self.tracks.record_feature_misses(misses, source)
