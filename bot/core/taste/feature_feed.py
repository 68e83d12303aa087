"""Feature lookups that start while a library is still being read.

Reading a large Spotify library takes several rounds of paged calls; waiting for all of them before
asking ReccoBeats about the first track would put the two services' waits end to end. A feed takes
each page as it arrives: it stores the page's track rows, sets aside the tracks whose features are
not stored yet, and asks the feature chain about them a full batch of the first source at a time.
``finish`` asks about the remainder and returns one report for everything fed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from bot.core.feature_chain import FeatureChain, FillReport
from bot.core.ports import FeatureSource, SpotifyTrack
from bot.core.progress import Notify

#: Pages are sorted this many tracks at a time: per-call overhead (sqlite, pandas) adds up.
SORT_AT = 200


class FeatureFeed:
    """Feature lookups for tracks fed page by page (one user's read; not shared)."""

    def __init__(
        self,
        chain: FeatureChain,
        store_rows: Callable[[Sequence[SpotifyTrack]], None],
        *,
        extra: Sequence[FeatureSource] = (),
    ) -> None:
        self.chain = chain
        self.store_rows = store_rows  # blocking: stores track rows, so features can attach to them
        self.extra = list(extra)
        sources = [*chain.sources, *self.extra]
        self.batch = max(1, sources[0].batch_size) if sources else 1
        self.report = FillReport()
        self._seen: set[str] = set()
        self._unsorted: list[SpotifyTrack] = []
        self._waiting: list[str] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._sorting: list[asyncio.Task[None]] = []

    def feed(self, tracks: Sequence[SpotifyTrack]) -> None:
        """Start on a page of tracks (each track is looked up once, however often it is fed)."""
        fresh = {t.track_id: t for t in tracks if t.track_id not in self._seen}
        self._seen.update(fresh)
        self._unsorted.extend(fresh.values())
        if len(self._unsorted) >= SORT_AT:
            self._sort_unsorted()

    async def stored(self) -> None:
        """Wait until every track fed so far has its row stored (the lookups go on)."""
        self._sort_unsorted()
        await self._wait(self._sorting)

    async def finish(self, notify: Notify | None = None) -> FillReport:
        """Wait for every lookup started, ask about the tracks still set aside, and report."""
        self._sort_unsorted()
        while True:
            running = [t for t in self._tasks if not t.done()]
            if not running:
                break
            await self._wait(running)
        await self._wait(self._tasks)  # raises the first failure, if any
        self._tasks.clear()
        self._sorting.clear()
        if self._waiting:
            rest, self._waiting = self._waiting, []
            await self._ask(rest, notify)
        return self.report

    def cancel(self) -> None:
        """Stop every lookup still running (the read failed)."""
        for task in self._tasks:
            task.cancel()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(work)
        self._tasks.append(task)
        return task

    def _sort_unsorted(self) -> None:
        if self._unsorted:
            self._sorting.append(self._spawn(self._sort(self._unsorted)))
            self._unsorted = []

    async def _wait(self, tasks: list[asyncio.Task[None]]) -> None:
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            self.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            raise

    async def _sort(self, tracks: list[SpotifyTrack]) -> None:
        """Store the rows; count the stored features as known and queue the rest."""
        ids = [t.track_id for t in tracks]
        pending = await asyncio.to_thread(self._prepare, tracks, ids)
        self.report.asked += len(ids) - len(pending)
        self.report.known += len(ids) - len(pending)
        self._waiting.extend(pending)
        while len(self._waiting) >= self.batch:
            chunk, self._waiting = self._waiting[: self.batch], self._waiting[self.batch :]
            self._spawn(self._ask(chunk, None))

    def _prepare(self, tracks: list[SpotifyTrack], ids: list[str]) -> list[str]:
        self.store_rows(tracks)
        return self.chain.unknown(ids)

    async def _ask(self, ids: list[str], notify: Notify | None) -> None:
        self.report.add(await self.chain.fill_unknown(ids, extra=self.extra, notify=notify))
