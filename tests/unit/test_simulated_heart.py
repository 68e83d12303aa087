"""The simulated heart: seeded, physiological, plan-driven and responsive to the music."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from bot.sources.simulated_heart import (
    DEFAULT_PLAN,
    NO_MUSIC_RESPONSE,
    MusicResponse,
    Phase,
    SimulatedHeart,
    SimulatedStream,
    interval_plan,
)
from recommender.heart import HeartProfile

PROFILE = HeartProfile(age=30, resting_hr=60)  # HRmax 187, reserve 127
FAST_LOUD = {"tempo": 160.0, "energy": 0.95}
SLOW_SOFT = {"tempo": 95.0, "energy": 0.25}


def _run(heart: SimulatedHeart, seconds: int) -> list[float]:
    """Readings of ``seconds`` one-second steps."""
    return [heart.step(1.0) for _ in range(seconds)]


def test_same_seed_gives_the_same_heart_rates() -> None:
    assert _run(SimulatedHeart(PROFILE, seed=7), 300) == _run(SimulatedHeart(PROFILE, seed=7), 300)


def test_different_seeds_give_different_noise() -> None:
    assert _run(SimulatedHeart(PROFILE, seed=1), 120) != _run(SimulatedHeart(PROFILE, seed=2), 120)


def test_heart_relaxes_toward_the_demand_with_its_time_constant() -> None:
    plan = [Phase("steady", 600, 0.5)]
    heart = SimulatedHeart(PROFILE, plan=plan, tau_seconds=30, noise_bpm=0, drift_bpm=0)
    start, target = heart.true_hr, heart.demand_hr()
    _run(heart, 30)
    assert (heart.true_hr - start) / (target - start) == pytest.approx(1 - math.exp(-1), abs=0.01)
    _run(heart, 270)
    assert heart.true_hr == pytest.approx(target, abs=0.1)


def test_default_plan_is_a_20_minute_interval_workout() -> None:
    names = [p.name for p in DEFAULT_PLAN]
    assert names[0] == "warm-up" and names[-1] == "cool-down"
    assert sum("interval" in n for n in names) == 3
    assert sum(p.duration_s for p in DEFAULT_PLAN) == 1200


def test_plan_drives_the_heart_through_the_zones() -> None:
    heart = SimulatedHeart(PROFILE, seed=0)
    readings = _run(heart, int(heart.duration_s))
    zones = [PROFILE.zone(hr) for hr in readings]
    assert max(zones[:240]) <= 2  # warm-up
    assert 4 in zones[240:360]  # first interval
    assert PROFILE.zone(float(np.mean(readings[-60:]))) <= 2  # cool-down
    assert heart.finished


def test_interval_plan_builds_warmup_repeats_and_cooldown() -> None:
    plan = interval_plan(warmup_s=60, work_s=30, rest_s=30, repeats=5, cooldown_s=60)
    assert len(plan) == 12
    assert sum(p.duration_s for p in plan) == 420


def test_faster_more_energetic_music_raises_heart_rate() -> None:
    plan = [Phase("steady", 600, 0.5)]
    fast, slow = SimulatedHeart(PROFILE, 3, plan=plan), SimulatedHeart(PROFILE, 3, plan=plan)
    fast.set_track(FAST_LOUD)
    slow.set_track(SLOW_SOFT)
    gap = np.mean(_run(fast, 300)[150:]) - np.mean(_run(slow, 300)[150:])
    response = MusicResponse()
    expected = response.demand(160, 0.95) - response.demand(95, 0.25)
    assert gap == pytest.approx(expected, abs=2.0)
    assert 5 < expected < 25  # "a little": noticeable, not a different workout


def test_music_response_can_be_switched_off() -> None:
    plan = [Phase("steady", 300, 0.5)]
    fast = SimulatedHeart(PROFILE, 3, plan=plan, response=NO_MUSIC_RESPONSE)
    silent = SimulatedHeart(PROFILE, 3, plan=plan, response=NO_MUSIC_RESPONSE)
    fast.set_track(FAST_LOUD)
    assert _run(fast, 200) == _run(silent, 200)


def test_unknown_features_add_no_demand() -> None:
    heart = SimulatedHeart(PROFILE)
    before = heart.demand_hr()
    heart.set_track({"tempo": float("nan"), "name": "unknown"})
    assert heart.demand_hr() == before
    heart.set_track(None)
    assert heart.demand_hr() == before


def test_half_time_tempo_counts_as_full_time() -> None:
    response = MusicResponse()
    assert response.demand(70, 0.6) == pytest.approx(response.demand(140, 0.6))


def test_one_long_step_equals_many_short_ones_without_noise() -> None:
    long = SimulatedHeart(PROFILE, noise_bpm=0.0, drift_bpm=0.0)
    short = SimulatedHeart(PROFILE, noise_bpm=0.0, drift_bpm=0.0)
    long.step(300)  # crosses the warm-up → interval boundary at 240 s
    _run(short, 300)
    assert long.true_hr == pytest.approx(short.true_hr)


def test_readings_are_whole_bpm_in_a_physiological_range() -> None:
    readings = _run(SimulatedHeart(PROFILE, seed=5), 1200)
    assert all(r == int(r) for r in readings)
    assert min(readings) >= 60 and max(readings) <= PROFILE.effective_max_hr + 5


async def test_samples_run_a_20_minute_workout_in_well_under_a_second() -> None:
    heart = SimulatedHeart(PROFILE, seed=0)
    begin = time.perf_counter()
    samples = [s async for s in heart.samples(interval=1.0, speed=1e9)]
    assert time.perf_counter() - begin < 1.0
    assert len(samples) == 1200
    assert samples[0][0] == 1.0 and samples[-1][0] == 1200.0


async def test_samples_sleep_interval_over_speed() -> None:
    heart = SimulatedHeart(PROFILE, seed=0)
    begin = time.perf_counter()
    samples = [s async for s in heart.samples(interval=2.0, speed=100.0, until=10.0)]
    assert [t for t, _ in samples] == [2.0, 4.0, 6.0, 8.0, 10.0]
    assert time.perf_counter() - begin >= 5 * 0.02 * 0.9


async def test_samples_match_step_for_the_same_seed() -> None:
    streamed = [hr async for _, hr in SimulatedHeart(PROFILE, seed=4).samples(speed=1e9, until=60)]
    assert streamed == _run(SimulatedHeart(PROFILE, seed=4), 60)


async def test_a_resumed_simulated_stream_carries_on_from_where_the_workout_was() -> None:
    stream = SimulatedStream(SimulatedHeart(PROFILE, seed=3), speed=math.inf, resume_from=300.0)
    assert stream.source == "simulator"
    first = [sample async for sample in _take(stream, 3)]
    assert [t for t, _ in first] == [301.0, 302.0, 303.0]
    assert first[0][1] > PROFILE.effective_resting_hr + 20  # 5 minutes in: warmed up
    before = stream.heart.demand_hr()
    stream.on_track(FAST_LOUD)
    assert stream.heart.demand_hr() > before  # the simulated heart hears the music


async def _take(stream: SimulatedStream, n: int):  # type: ignore[no-untyped-def]
    count = 0
    async for sample in stream.samples():
        yield sample
        count += 1
        if count == n:
            return
