"""Heart-rate samples on their way to SQLite: downsampled per workout, written for all at once.

Readings arrive about once a second per listener. Each workout keeps a small bucket of the
readings of the last ``every`` seconds; a full bucket becomes one stored sample (their mean, at
the time of its last reading). Every ``flush_every`` seconds one transaction stores the finished
samples of every workout, so a thousand streams cost one write, not a thousand. A sample counts
as acknowledged once that transaction has committed: a crash loses at most the readings of the
last flush interval, a clean shutdown loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass

from storage.workout_store import WorkoutStore

log = logging.getLogger(__name__)


@dataclass
class _Bucket:
    """Readings of one workout inside the current downsampling window."""

    key: float
    total: float = 0.0
    count: int = 0
    last_t: float = 0.0


class SampleWriter:
    """Buffers (t, hr) readings per workout and stores them in periodic batched transactions."""

    def __init__(self, workouts: WorkoutStore, every: float = 5.0) -> None:
        """``every`` seconds of readings make one stored sample; 0 stores every reading."""
        self.workouts = workouts
        self.every = every
        self._buckets: dict[int, _Bucket] = {}
        self._pending: dict[int, list[tuple[float, float]]] = {}
        self._inflight: asyncio.Future[int] | None = None
        self._lock: asyncio.Lock | None = None

    def add(self, workout_id: int, t: float, hr: float) -> None:
        """Take one accepted reading (hot path: no I/O)."""
        if self.every <= 0:
            self._pending.setdefault(workout_id, []).append((t, hr))
            return
        key = math.floor(t / self.every)
        bucket = self._buckets.get(workout_id)
        if bucket is None or bucket.key != key:
            if bucket is not None:
                self._close(workout_id, bucket)
            bucket = self._buckets[workout_id] = _Bucket(key)
        bucket.total += hr
        bucket.count += 1
        bucket.last_t = t

    def _close(self, workout_id: int, bucket: _Bucket) -> None:
        mean = round(bucket.total / bucket.count, 1)
        self._pending.setdefault(workout_id, []).append((bucket.last_t, mean))

    def seal(self, workout_id: int) -> None:
        """Turn the workout's unfinished bucket into a sample (at stop or shutdown)."""
        bucket = self._buckets.pop(workout_id, None)
        if bucket is not None and bucket.count:
            self._close(workout_id, bucket)

    def drop(self, workout_id: int) -> None:
        """Forget everything not yet stored for a workout (it is being erased)."""
        self._buckets.pop(workout_id, None)
        self._pending.pop(workout_id, None)

    def pending_count(self) -> int:
        """Samples waiting for the next flush."""
        return sum(len(rows) for rows in self._pending.values())

    async def flush(self) -> int:
        """Store every finished sample in one transaction, after any write already under way."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            await self.settle()
            batch, self._pending = self._pending, {}
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
                for workout_id, rows in batch.items():
                    self._pending[workout_id] = rows + self._pending.get(workout_id, [])
                return 0

    async def settle(self) -> None:
        """Wait until a write that is under way has finished (its outcome is handled by flush)."""
        inflight = self._inflight
        if inflight is not None and not inflight.done():
            await asyncio.wait([inflight])

    async def run(self, flush_every: float) -> None:
        """Flush every ``flush_every`` seconds until cancelled."""
        while True:
            await asyncio.sleep(flush_every)
            try:
                await self.flush()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("heart-rate flush failed")
