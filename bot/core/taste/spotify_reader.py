"""Reading a linked user's taste from Spotify: saved tracks, top tracks and artists (three time
ranges), their own playlists and the playlists' items — concurrently wherever the offsets are
known — into library rows, top artists and (through the feature-source chain) audio features.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import pandas as pd

from bot.core.feature_chain import PROGRESS_EVERY_SECONDS, FeatureChain, FillReport, track_frame
from bot.core.ports import (
    PAGE_LIMIT,
    Page,
    SpotifyAccount,
    SpotifyArtist,
    SpotifyPlaylist,
    SpotifyProfile,
    SpotifyTrack,
)
from bot.core.progress import Notify, silent
from bot.core.taste.feature_feed import FeatureFeed
from storage.taste_store import TIME_RANGES, TasteStore
from storage.track_store import TrackStore

log = logging.getLogger(__name__)
T = TypeVar("T")
Fetch = Callable[[int, int], Awaitable[Page[T]]]


@dataclass
class SyncReport:
    """What one read of a user's Spotify taste brought in."""

    tracks: int = 0
    saved: int = 0
    top_tracks: dict[str, int] = field(default_factory=dict)
    top_artists: int = 0
    playlists: int = 0
    playlist_tracks: int = 0
    features: FillReport = field(default_factory=FillReport)
    seconds: float = 0.0

    def summary(self) -> str:
        """A few sentences for the chat."""
        tops = sum(self.top_tracks.values())
        return (
            f"Read {self.tracks:,} distinct tracks from Spotify: {self.saved:,} saved, "
            f"{tops} in your top lists, {self.playlist_tracks:,} in {self.playlists} playlists "
            f"of your own, plus {self.top_artists} top artists. {self.features.summary()}"
        )


def library_entries(tracks: Sequence[SpotifyTrack]) -> pd.DataFrame:
    """Library rows (track_id, rank, added_at) in list order; a repeated track keeps its first rank."""
    seen: dict[str, tuple[int, str | None]] = {}
    for rank, track in enumerate(tracks, start=1):
        seen.setdefault(track.track_id, (rank, track.added_at))
    return pd.DataFrame(
        [(t, rank, added) for t, (rank, added) in seen.items()],
        columns=["track_id", "rank", "added_at"],
    )


async def gather_or_cancel(*awaitables: Awaitable[Any]) -> list[Any]:
    """Like ``asyncio.gather``, but the first failure cancels the others before it is raised."""
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def all_pages(
    fetch: Fetch[T],
    limit: int = PAGE_LIMIT,
    progress: Callable[[int, int], Awaitable[None]] | None = None,
) -> list[T]:
    """Every item of a paged list: the first page gives the total, the rest are read at once."""
    first = await fetch(0, limit)
    offsets = range(len(first.items), first.total, limit) if first.items else range(0)
    done = len(first.items)

    async def page(offset: int) -> Page[T]:
        nonlocal done
        result = await fetch(offset, limit)
        done += len(result.items)
        if progress is not None:
            await progress(done, first.total)
        return result

    rest = await gather_or_cancel(*(page(offset) for offset in offsets))
    items = list(first.items)
    for result in rest:
        items.extend(result.items)
    return items


def fed(fetch: Fetch[SpotifyTrack], feed: FeatureFeed | None) -> Fetch[SpotifyTrack]:
    """``fetch``, handing each page's tracks to ``feed`` as it arrives (as is without a feed)."""
    if feed is None:
        return fetch

    async def fetch_and_feed(offset: int, limit: int) -> Page[SpotifyTrack]:
        page = await fetch(offset, limit)
        feed.feed(page.items)
        return page

    return fetch_and_feed


class Progress:
    """Progress lines for the chat, at most one every ``every`` seconds."""

    def __init__(self, notify: Notify, what: str, every: float = PROGRESS_EVERY_SECONDS) -> None:
        self.notify = notify
        self.what = what
        self.every = every
        self._last = time.monotonic()

    async def __call__(self, done: int, total: int) -> None:
        """Report ``done`` of ``total`` unless a line went out a moment ago."""
        if total and time.monotonic() - self._last >= self.every:
            self._last = time.monotonic()
            await self.notify(f"Read {done:,} of {total:,} {self.what}…")


class SpotifyReader:
    """Reads one linked user's Spotify taste into their library."""

    def __init__(
        self,
        taste: TasteStore,
        tracks: TrackStore,
        chain: FeatureChain,
        *,
        progress_every: float = PROGRESS_EVERY_SECONDS,
    ) -> None:
        self.taste = taste
        self.tracks = tracks
        self.chain = chain
        self.progress_every = progress_every
        #: Look features up while the library is still being read (False: read, then look up).
        self.overlap = True

    async def run(
        self,
        user_id: int,
        account: SpotifyAccount,
        notify: Notify = silent,
        profile: SpotifyProfile | None = None,
    ) -> SyncReport:
        """Read, store and fill in features; ``notify`` gets progress lines for the chat.
        ``profile`` (``/me``, known right after linking) saves a call."""
        started = time.perf_counter()
        await notify("Reading your Spotify library: saved tracks, top lists and your playlists…")
        extra = self.chain.extra_sources(account)
        # Features are looked up page by page while the rest of the library is still being read.
        feed = FeatureFeed(self.chain, self._store_rows, extra=extra) if self.overlap else None
        try:
            saved, own, *tops = await gather_or_cancel(
                all_pages(
                    fed(account.saved_tracks, feed),
                    progress=Progress(notify, "saved tracks", self.progress_every),
                ),
                self._own_playlist_items(account, profile, feed),
                *(fed(partial(account.top_tracks, r), feed)(0, PAGE_LIMIT) for r in TIME_RANGES),
                *(account.top_artists(r, 0, PAGE_LIMIT) for r in TIME_RANGES),
            )
        except BaseException:
            if feed is not None:
                feed.cancel()
            raise
        playlists: list[SpotifyPlaylist] = own[0]
        playlist_tracks: list[SpotifyTrack] = own[1]
        top_tracks = {r: list(p.items) for r, p in zip(TIME_RANGES, tops[:3], strict=True)}
        top_artists = {r: list(p.items) for r, p in zip(TIME_RANGES, tops[3:], strict=True)}
        sources: dict[str, list[SpotifyTrack]] = {
            "saved": saved,
            **{f"top_{r}": top_tracks[r] for r in TIME_RANGES},
            "playlist": playlist_tracks,
        }
        everything = [t for rows in sources.values() for t in rows]
        report = SyncReport(
            tracks=len({t.track_id for t in everything}),
            saved=len(saved),
            top_tracks={r: len(v) for r, v in top_tracks.items()},
            top_artists=sum(len(v) for v in top_artists.values()),
            playlists=len(playlists),
            playlist_tracks=len(playlist_tracks),
        )
        if feed is not None:  # the feed stored the track rows page by page
            await feed.stored()
        rows = [] if feed is not None else everything
        await asyncio.to_thread(self._store, user_id, rows, everything, sources, top_artists)
        await notify(f"Read {report.tracks:,} distinct tracks; looking up their audio features…")
        if feed is not None:
            report.features = await feed.finish(notify)
        else:
            report.features = await self.chain.fill(
                [t.track_id for t in everything], extra=extra, notify=notify
            )
        report.seconds = time.perf_counter() - started
        log.info(
            "spotify taste of user %s: %d tracks, %d features missing, %.1f s",
            user_id,
            report.tracks,
            report.features.missing,
            report.seconds,
        )
        return report

    def _store_rows(self, tracks: Sequence[SpotifyTrack]) -> None:
        """Track rows of a page just read (features attach to them as they arrive)."""
        self.tracks.upsert_tracks(track_frame(tracks), "spotify")

    async def _own_playlist_items(
        self, account: SpotifyAccount, profile: SpotifyProfile | None, feed: FeatureFeed | None
    ) -> tuple[list[SpotifyPlaylist], list[SpotifyTrack]]:
        """The user's own (or collaborative) playlists and all their tracks, pages read at once."""
        if profile is None:
            me, listed = await gather_or_cancel(account.profile(), all_pages(account.playlists))
        else:
            me, listed = profile, await all_pages(account.playlists)
        # Spotify answers 403 for the items of playlists the user only follows: don't ask.
        own = [p for p in listed if p.owner_id == me.user_id or p.collaborative]

        async def items(playlist: SpotifyPlaylist) -> list[SpotifyTrack]:
            def fetch(offset: int, limit: int) -> Awaitable[Page[SpotifyTrack]]:
                return account.playlist_items(playlist.playlist_id, offset, limit)

            if playlist.total == 0:
                return []
            return await all_pages(fed(fetch, feed))

        per_list = await gather_or_cancel(*(items(p) for p in own))
        return own, [t for rows in per_list for t in rows]

    def _store(
        self,
        user_id: int,
        rows: list[SpotifyTrack],
        everything: list[SpotifyTrack],
        sources: dict[str, list[SpotifyTrack]],
        top_artists: dict[str, list[SpotifyArtist]],
    ) -> None:
        """Track rows (``rows``: those not stored yet), ISRCs, library rows and top artists."""
        if rows:
            self.tracks.upsert_tracks(track_frame(rows), "spotify")
        if everything:
            self.tracks.set_isrcs({t.track_id: t.isrc for t in everything if t.isrc})
        for source, rows in sources.items():
            self.taste.replace_library(user_id, source, library_entries(rows))
        for time_range, artists in top_artists.items():
            self.taste.replace_top_artists(
                user_id, time_range, [(a.name, a.artist_id) for a in artists]
            )
