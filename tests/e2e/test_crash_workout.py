"""``kill -9`` of a real console in the middle of a workout with a fast heart stream.

The README promises that a crash loses at most the last 2 s of heart-rate readings, whatever their
rate, and that a workout interrupted by a restart carries on. The console's simulated heart runs
20 times faster than real time (20 readings a wall-clock second, each one second of workout time)
and logs each reading as it hands it out (DEBUG), so the test knows how far the stream had got at
any moment — and at the kill — and compares that with what another connection finds in SQLite.
"""

from __future__ import annotations

import itertools
import math
import random
import re
import time
from pathlib import Path

from tests.e2e.crash_rig import (
    Console,
    closing_db,
    console,
    demo_genre_model_fixture,  # noqa: F401  (the fixture demo_genre_model)
    integrity,
)

SPEED = 20.0  # workout seconds per wall-clock second: a 20 Hz stream
PROMISE_S = 2.0  # README: a crash loses at most the last 2 s of readings
#: The most workout time the stream covers in PROMISE_S of wall-clock time (it sleeps at least
#: 1/SPEED s between readings, so it never runs faster), plus the reading at the edge.
BOUND = PROMISE_S * SPEED + 1.0
EVERY_S = 5.0  # the bot's downsampling window
READING = r"simulated heart: t=(\d+\.\d) s, (\d+) bpm"
ENV = {"BEATMATCH_CONSOLE_SIMULATOR_SPEED": str(SPEED), "BEATMATCH_LOGGING_LEVEL": "DEBUG"}


def readings(bot: Console) -> list[tuple[float, float]]:
    """Every reading the bot's simulated heart has handed out so far, in order."""
    return [(float(t), float(hr)) for t, hr in re.findall(READING, bot.err.text)]


def stored(db: Path) -> list[tuple[float, float]]:
    """The heart-rate samples on disk, in time order (one workout in these tests)."""
    with closing_db(db) as conn:
        rows = conn.execute("select t, hr from hr_samples order by t").fetchall()
    return [(float(t), float(hr)) for t, hr in rows]


def watch(bot: Console, seconds: float) -> float:
    """For ``seconds``, compare the stream with the disk; the worst lag seen (workout seconds).

    The log is read before the database: the disk can only have moved on meanwhile, so the lag
    measured is never more than the true one.
    """
    worst = 0.0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        got = readings(bot)
        on_disk = stored(bot.db)
        if got:
            newest = on_disk[-1][0] if on_disk else 0.0
            lag = got[-1][0] - newest
            assert lag <= BOUND, (
                f"the stream was at {got[-1][0]:.0f} s but the disk only up to {newest:.0f} s"
            )
            worst = max(worst, lag)
        time.sleep(0.05)
    return worst


def windows(samples: list[tuple[float, float]]) -> dict[int, int]:
    """How many stored samples each 5 s window holds."""
    counts: dict[int, int] = {}
    for t, _ in samples:
        key = math.floor(t / EVERY_S)
        counts[key] = counts.get(key, 0) + 1
    return counts


def means(
    samples: list[tuple[float, float]], source: list[tuple[float, float]], after: float
) -> list[float]:
    """For each stored sample after ``after``, the mean of the readings of ``source`` since the
    sample before it — what the sample must hold if every reading counted once."""
    expected = []
    previous = after
    for t, _ in samples:
        part = [hr for rt, hr in source if previous < rt <= t]
        expected.append(round(sum(part) / len(part), 1) if part else math.nan)
        previous = t
    return expected


def test_a_killed_workout_lost_under_two_seconds_and_carries_on_after_a_restart(
    tmp_path: Path, demo_genre_model: Path
) -> None:
    data_dir = tmp_path / "data"
    rng = random.Random()
    with console(data_dir, demo_genre_model, **ENV) as first:
        first.ask("/profile age:34 resting_hr:58", r"\(saved\)")
        first.ask("/workout start", r"^Workout")
        first.wait_for(READING, stream="err")
        # A few writes of every workout (one a second), then a random moment.
        watch(first, 3.0 + rng.uniform(0.0, 2.0))
        first.kill()
        before = readings(first)
    killed_at = before[-1][0]  # the last reading the stream handed out before the kill

    assert integrity(first.db) == "ok"
    on_disk = stored(first.db)
    assert on_disk, "nothing of the workout was stored"
    last = on_disk[-1][0]
    assert killed_at - last <= BOUND, (
        f"killed at {killed_at:.0f} s of the workout, the disk holds readings up to {last:.0f} s "
        f"(at most {BOUND:.0f} s of stream may be lost at {SPEED:.0f}x)"
    )
    assert means(on_disk, before, 0.0) == [hr for _, hr in on_disk]

    with console(data_dir, demo_genre_model, **ENV) as second:
        told = second.wait_for(r"your workout carries on \((\d+\.\d) min so far")
        assert float(told[1]) == round(last / 60.0, 1)
        second.wait_for(READING, stream="err")
        watch(second, 1.5)
        resumed = readings(second)
        assert resumed[0][0] == last + 1.0  # the stream goes on from the last stored reading
        summary = second.ask("/workout stop", r"^Workout summary$")
        second.wait_for(r"average", summary.end())
        after = readings(second)
        assert second.quit() == 0
    assert "Traceback" not in second.err.text, second.tail()

    with closing_db(second.db) as conn:
        rows = conn.execute("select ended_at, summary from workouts").fetchall()
    assert len(rows) == 1 and rows[0][0] is not None and rows[0][1]
    samples = stored(second.db)
    assert samples[: len(on_disk)] == on_disk  # everything acknowledged before the crash kept
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(samples)]
    assert max(gaps) <= EVERY_S  # no stretch of the workout missing
    counts = windows(samples)
    cut = math.floor(last / EVERY_S)
    assert all(n == 1 for key, n in counts.items() if key != cut), counts
    assert counts[cut] in (1, 2)  # the window the crash cut: its stored part, then the rest
    # Every sample is the mean of the readings since the one before it: none counted twice.
    later = samples[len(on_disk) :]
    assert means(later, after, last) == [hr for _, hr in later]
