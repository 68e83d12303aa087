"""What a crash mid-workout may lose: the heart-rate writer against a real SQLite file.

The README promises that a crash loses at most the last 2 s of readings, whatever their rate. The
writer is driven here on the bot's own flush beat (``FLUSH_EVERY_S``) in stream time, and after
every reading another connection looks at what is on disk, as a restarted bot would: nothing is
closed, sealed or flushed on the way out.
"""

from __future__ import annotations

import asyncio
import math
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.core.workout.manager import FLUSH_EVERY_S
from bot.core.workout.samples import SampleWriter
from storage.database import Storage
from storage.workout_store import WorkoutStore

PROMISE_S = 2.0  # README: "a crash loses at most the last 2 s of readings"
EVERY_S = 5.0  # the bot's downsampling window


@pytest.fixture
def db(tmp_path: Path) -> Iterator[tuple[Storage, Path]]:
    path = tmp_path / "db" / "beatmatch.db"
    storage = Storage.open(path)
    yield storage, path
    storage.close()


def _workout(storage: Storage) -> int:
    uid = storage.users.user_id("console", "runner")
    return storage.workouts.start_workout(uid, None, None, "simulator", started_at=1.0)


def _on_disk(path: Path, workout_id: int) -> list[tuple[float, float]]:
    """The samples as a freshly started process would read them (its own connection)."""
    with sqlite3.connect(path) as other:
        rows = other.execute(
            "select t, hr from hr_samples where workout_id = ? order by t", [workout_id]
        ).fetchall()
    other.close()
    return [(float(t), float(hr)) for t, hr in rows]


def _stream(hz: float, seconds: float, seed: int = 0) -> list[tuple[float, float]]:
    """``hz`` readings a second for ``seconds``: (t, hr), t counted from the workout's start."""
    rng = np.random.default_rng(seed)
    n = int(seconds * hz)
    return [
        ((k + 1) / hz, float(round(120 + 20 * math.sin(k / 40) + rng.normal(0, 2))))
        for k in range(n)
    ]


def _means(readings: list[tuple[float, float]]) -> dict[int, tuple[float, float]]:
    """Per 5 s window: (time of its last reading, mean of its readings), as the writer stores."""
    windows: dict[int, list[tuple[float, float]]] = {}
    for t, hr in readings:
        windows.setdefault(math.floor(t / EVERY_S), []).append((t, hr))
    return {
        key: (rows[-1][0], round(sum(hr for _, hr in rows) / len(rows), 1))
        for key, rows in windows.items()
    }


async def _feed(
    writer: SampleWriter,
    workout_id: int,
    readings: list[tuple[float, float]],
    check: Any = None,
) -> None:
    """Hand ``readings`` to the writer, flushing on the bot's beat of stream time."""
    next_flush = (math.floor(readings[0][0] / FLUSH_EVERY_S) + 1) * FLUSH_EVERY_S
    for t, hr in readings:
        while t >= next_flush:
            await writer.flush()
            next_flush += FLUSH_EVERY_S
        writer.add(workout_id, t, hr)
        if check is not None:
            check(t)


@pytest.mark.parametrize("hz", [1.0, 4.0, 20.0])
async def test_a_crash_at_any_moment_loses_at_most_two_seconds_of_readings(
    db: tuple[Storage, Path], hz: float
) -> None:
    storage, path = db
    workout_id = _workout(storage)
    writer = SampleWriter(storage.workouts, every=EVERY_S)
    readings = _stream(hz, 40.0)
    worst = 0.0

    def covered(now: float) -> None:
        nonlocal worst
        stored = _on_disk(path, workout_id)
        newest = stored[-1][0] if stored else 0.0
        # Readings older than the promise must all be on disk: the newest stored one is at most
        # PROMISE_S behind this reading.
        lag = now - newest
        worst = max(worst, lag)
        assert lag <= PROMISE_S, f"at t={now:.2f} s the disk holds readings up to {newest:.2f} s"

    await _feed(writer, workout_id, readings, check=covered)
    assert worst > FLUSH_EVERY_S / 2  # the check saw the gaps between writes


async def test_the_window_a_crash_cuts_is_stored_as_it_stood_at_the_last_write(
    db: tuple[Storage, Path],
) -> None:
    storage, path = db
    workout_id = _workout(storage)
    writer = SampleWriter(storage.workouts, every=EVERY_S)
    readings = _stream(4.0, 23.5)  # the crash comes 3.5 s into the fifth window
    await _feed(writer, workout_id, readings)
    # The crash: no seal, no flush. What the last write (at 23 s) stored is what is there.
    acknowledged = [(t, hr) for t, hr in readings if t < 23.0]
    assert _on_disk(path, workout_id) == sorted(_means(acknowledged).values())


async def test_a_resumed_workout_counts_each_reading_once(db: tuple[Storage, Path]) -> None:
    storage, path = db
    workout_id = _workout(storage)
    readings = _stream(2.0, 60.0, seed=4)
    before = [r for r in readings if r[0] <= 27.0]
    crashed = SampleWriter(storage.workouts, every=EVERY_S)
    await _feed(crashed, workout_id, before)  # killed at 27.0 s: the last write was at 27.0
    stored = _on_disk(path, workout_id)
    last = stored[-1][0]
    assert last == 26.5  # window 25–30 s is on disk as it stood, half full

    # The next process resumes after the last stored reading (the stream goes on from there).
    resumed = SampleWriter(storage.workouts, every=EVERY_S)
    after = [r for r in readings if r[0] > last]
    await _feed(resumed, workout_id, after)
    resumed.seal(workout_id)
    await resumed.flush()

    expected = sorted(
        [*_means([r for r in readings if r[0] <= last]).values(), *_means(after).values()]
    )
    assert _on_disk(path, workout_id) == expected
    # Window 25–30 s holds two samples: the part stored before the crash, the rest after it.
    cut = [t for t, _ in expected if 25.0 <= t < 30.0]
    assert cut == [26.5, 29.5]


class FailingOnce(WorkoutStore):
    """The real store on a disk whose first sample write fails (a full disk that is then freed)."""

    def __init__(self, storage: Storage) -> None:
        super().__init__(storage.sql)
        self.failures = 1

    def store_hr_batches(self, batches: Any) -> int:
        if self.failures:
            self.failures -= 1
            raise sqlite3.OperationalError("database or disk is full")
        return super().store_hr_batches(batches)


async def test_a_failed_write_is_retried_with_the_windows_as_they_stand_then(
    db: tuple[Storage, Path],
) -> None:
    storage, path = db
    workout_id = _workout(storage)
    failing = FailingOnce(storage)
    writer = SampleWriter(failing, every=EVERY_S)
    readings = _stream(4.0, 12.25)
    await _feed(writer, workout_id, readings[:6])  # first write (t = 1 s) fails
    assert failing.failures == 0 and _on_disk(path, workout_id) == []
    await _feed(writer, workout_id, readings[6:])
    assert _on_disk(path, workout_id) == sorted(
        _means([r for r in readings if r[0] < 12.0]).values()
    )
    writer.seal(workout_id)
    await writer.flush()
    assert _on_disk(path, workout_id) == sorted(_means(readings).values())
    assert writer.pending_count() == 0


async def test_the_periodic_flush_stores_a_window_that_is_still_filling(
    db: tuple[Storage, Path],
) -> None:
    storage, path = db
    workout_id = _workout(storage)
    writer = SampleWriter(storage.workouts, every=EVERY_S)
    for t in (0.5, 1.0, 1.5):
        writer.add(workout_id, t, 100.0 + t)
    flusher = asyncio.get_running_loop().create_task(writer.run(0.01))
    try:
        for _ in range(500):
            if _on_disk(path, workout_id):
                break
            await asyncio.sleep(0.01)
        assert _on_disk(path, workout_id) == [(1.5, 101.0)]
        writer.add(workout_id, 2.0, 105.0)
        for _ in range(500):
            if _on_disk(path, workout_id)[-1][0] == 2.0:
                break
            await asyncio.sleep(0.01)
        assert _on_disk(path, workout_id) == [(2.0, 102.0)]  # overwritten, not added
    finally:
        flusher.cancel()
        await asyncio.wait([flusher])
