"""Heart-rate samples on their way to SQLite: downsampled per workout, written for all at once.

Readings arrive about once a second per listener (a strap may send several a second). Each workout
keeps the readings of its current ``every``-second window in a bucket; the window's stored sample
is their mean, at the time of its last reading. Every ``flush_every`` seconds (one in the bot) one
transaction stores, for every workout at once, the windows that closed since the last write and
the window still open as it stands now — its sample is stored again, replacing the earlier one, as
the window fills. So a thousand streams cost one write a second, not a thousand, and a sample is
acknowledged once that transaction has committed: a crash loses at most the readings of the last
flush interval and of the write under way (about a second, whatever the reading rate), a clean
shutdown loses nothing. After a restart the resumed workout's first window starts at its first new
reading: the window the crash cut keeps its stored sample, and the readings that follow make a
second sample of it (each reading counts once).
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass

from storage.workout_store import WorkoutStore

log = logging.getLogger(__name__)
#: A sample on its way: (t, hr, since) as ``WorkoutStore.store_hr_batches`` takes it.
Row = tuple[float, float, float | None]


@dataclass
class _Bucket:
    """Readings of one workout inside the current downsampling window."""

    key: int
    first_t: float  # its first reading: its stored sample lies between this and ``last_t``
    total: float = 0.0
    count: int = 0
    last_t: float = 0.0
    written: bool = False  # its sample went to a write: the next one replaces it
    dirty: bool = True  # readings came since its sample last went to a write

    def row(self) -> Row:
        """The window's sample as it stands (replacing any stored earlier state of it)."""
        since = self.first_t if self.written else None
        return (self.last_t, round(self.total / self.count, 1), since)


class SampleWriter:
    """Buffers (t, hr) readings per workout and stores them in periodic batched transactions."""

    def __init__(self, workouts: WorkoutStore, every: float = 5.0) -> None:
        """``every`` seconds of readings make one stored sample; 0 stores every reading."""
        self.workouts = workouts
        self.every = every
        self._buckets: dict[int, _Bucket] = {}
        self._pending: dict[int, list[Row]] = {}
        self._inflight: asyncio.Future[int] | None = None
        self._lock: asyncio.Lock | None = None

    def add(self, workout_id: int, t: float, hr: float) -> None:
        """Take one accepted reading (hot path: no I/O)."""
        if self.every <= 0:
            self._queue(workout_id, (t, hr, None))
            return
        key = math.floor(t / self.every)
        bucket = self._buckets.get(workout_id)
        if bucket is None or bucket.key != key:
            if bucket is not None:
                self._close(workout_id, bucket)
            bucket = self._buckets[workout_id] = _Bucket(key, t)
        bucket.total += hr
        bucket.count += 1
        bucket.last_t = t
        bucket.dirty = True

    def _close(self, workout_id: int, bucket: _Bucket) -> None:
        """A finished window: its final sample waits for the next flush (if not stored as is)."""
        if bucket.dirty and bucket.count:
            self._queue(workout_id, bucket.row())

    def _queue(self, workout_id: int, row: Row) -> None:
        """Add a sample to the next write; a later state of a window drops its earlier ones."""
        rows = self._pending.setdefault(workout_id, [])
        since = row[2]
        if since is not None:
            while rows and rows[-1][0] >= since:
                rows.pop()
        rows.append(row)

    def seal(self, workout_id: int) -> None:
        """Turn the workout's unfinished bucket into a sample (at stop or shutdown)."""
        bucket = self._buckets.pop(workout_id, None)
        if bucket is not None:
            self._close(workout_id, bucket)

    def drop(self, workout_id: int) -> None:
        """Forget everything not yet stored for a workout (it is being erased)."""
        self._buckets.pop(workout_id, None)
        self._pending.pop(workout_id, None)

    def pending_count(self) -> int:
        """Samples waiting for the next flush (open windows with new readings included)."""
        waiting = sum(len(rows) for rows in self._pending.values())
        return waiting + sum(1 for bucket in self._buckets.values() if bucket.dirty)

    def _take(self) -> dict[int, list[Row]]:
        """What the next write stores: the closed windows and every open one with new readings."""
        for workout_id, bucket in self._buckets.items():
            if bucket.dirty:
                self._queue(workout_id, bucket.row())
                bucket.written, bucket.dirty = True, False
        batch, self._pending = self._pending, {}
        return batch

    def _requeue(self, batch: dict[int, list[Row]]) -> None:
        """Put a failed write's samples back in front of those queued since."""
        later, self._pending = self._pending, {}
        for workout_id in batch.keys() | later.keys():
            for row in [*batch.get(workout_id, ()), *later.get(workout_id, ())]:
                self._queue(workout_id, row)

    async def flush(self) -> int:
        """Store every finished sample and every open window in one transaction, after any write
        already under way."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            await self.settle()
            batch = self._take()
            if not batch:
                return 0
            inflight = asyncio.ensure_future(
                asyncio.to_thread(self.workouts.store_hr_batches, batch)
            )
            self._inflight = inflight
            try:
                # Shielded: a cancelled caller must not make anyone believe the rows are stored
                # while the worker thread is still writing them; settle() waits for it.
                return await asyncio.shield(inflight)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("could not store heart-rate samples; they will be retried")
                self._requeue(batch)
                return 0

    async def settle(self) -> None:
        """Wait until a write that is under way has finished (its outcome is handled by flush)."""
        inflight = self._inflight
        if inflight is not None and not inflight.done():
            await asyncio.wait([inflight])

    async def run(self, flush_every: float) -> None:
        """Flush every ``flush_every`` seconds until cancelled, on a fixed beat: a slow write
        delays the next one by no more than it overran (a late one starts at once)."""
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            due = max(due + flush_every, loop.time())
            await asyncio.sleep(due - loop.time())
            try:
                await self.flush()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("heart-rate flush failed")
