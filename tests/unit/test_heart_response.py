"""How music moves a heart, learned per user from stored workouts (the NextSong question).

A simulated heart with a known music response works out through the real WorkoutManager while
random tracks play; the model fitted from the stored sessions must recover the response (signs
and rough size), and goal mode must then reach the goal zone sooner with it than without it.
"""

from __future__ import annotations

import asyncio
import functools
import math
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bot.core.catalog import CatalogState, demo_state
from bot.core.delivery import Outbox
from bot.core.ports import Picker
from bot.core.taste.models import TasteModels
from bot.core.taste.picker import TastePicker
from bot.core.workout.finish import WorkoutFinisher
from bot.core.workout.heart_response import (
    SETTINGS_KEY,
    HeartResponses,
    HeartSteer,
    steering_context,
)
from bot.core.workout.live import StreamRequest
from bot.core.workout.manager import WorkoutManager
from bot.core.workout.session import WorkoutSession
from bot.sources.simulated_heart import MusicResponse, Phase, SimulatedHeart, SimulatedStream
from recommender.context import Context
from recommender.heart import HeartProfile, HeartResponseModel, goal_hr_band
from recommender.ranking import Steer
from storage.database import Storage
from tests.rig import FAST

PROFILE = HeartProfile(resting_hr=60, max_hr=180)  # zone 4 (vigorous) from 132 bpm
TRUE = MusicResponse(tempo_bpm_per_bpm=0.15, energy_bpm_per_unit=12.0)
#: Past sessions: random tracks over easy, tempo and steady stretches.
PAST_PLAN = (Phase("easy", 400, 0.4), Phase("tempo", 400, 0.62), Phase("steady", 400, 0.5))
PAST_SESSIONS = 10
#: Goal sessions: an effort that leaves the heart just short of zone 4 unless music helps.
GOAL_PLAN = (Phase("steady", 600, 0.55),)
GOAL_SEEDS = range(100, 106)
CATALOG = 3000


@functools.cache
def _catalog() -> CatalogState:
    """The demo catalog the simulated listener's tracks come from (built once)."""
    return demo_state(CATALOG)


@dataclass
class Simulated:
    """Streams that hand every workout a simulated heart with a known music response."""

    plan: Sequence[Phase]
    seed: int = 0

    async def __call__(self, request: StreamRequest) -> SimulatedStream:
        heart = SimulatedHeart(PROFILE, seed=self.seed, plan=self.plan, response=TRUE)
        return SimulatedStream(heart, speed=math.inf)


def _responses(storage: Storage, tracks: pd.DataFrame) -> HeartResponses:
    """Learned responses kept in ``storage``'s user settings, over the catalog ``tracks``."""
    return HeartResponses(storage.users, storage.workouts, storage.tracks, tracks)


async def _workout(
    storage: Storage,
    picker: Picker,
    streams: Simulated,
    responses: HeartResponses | None,
    goal: int | None,
    track_seconds: float,
    tmp: Path,
) -> WorkoutSession:
    """One simulated workout through the manager, to its automatic end; its session."""
    tracks = _catalog().tracks
    manager = WorkoutManager(
        storage.workouts,
        storage.tracks,
        tracks,
        picker,
        streams,
        WorkoutFinisher(storage.workouts, tmp / "charts", responses),
        Outbox(),
        responses=responses,
        track_seconds=track_seconds,
        flush_every=0.01,
        keep_samples=True,
    )
    uid = storage.users.user_id("console", "runner")
    await manager.start(uid, goal, None)
    live = manager.live[uid]
    assert live.task is not None
    await live.task
    await manager.shutdown()
    return live.session


def _random_picker(seed: int) -> Picker:
    """Plays random catalog tracks, the way a listener's own shuffle would."""
    rng = np.random.default_rng(seed)
    ids = list(_catalog().tracks.index)

    def pick(
        _uid: int, _context: Context, n: int, _exclude: set[str], _steer: Steer | None
    ) -> list[tuple[str, str]]:
        return [(str(ids[rng.integers(len(ids))]), "shuffle") for _ in range(n)]

    return pick


async def _past_sessions(path: Path) -> HeartResponseModel:
    storage = Storage.open(path)
    try:
        uid = storage.users.user_id("console", "runner")
        storage.workouts.update_profile(uid, resting_hr=60, max_hr=180)
        responses = _responses(storage, _catalog().tracks)
        picker = _random_picker(7)
        for seed in range(PAST_SESSIONS):
            await _workout(
                storage, picker, Simulated(PAST_PLAN, seed), responses, None, 90.0, path.parent
            )
        model = responses.load(uid)
        assert model is not None
        return model
    finally:
        storage.close()


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, HeartResponseModel]:
    """A database holding the past sessions, and the model the product fitted from them."""
    path = tmp_path_factory.mktemp("history") / "beatmatch.db"
    return path, asyncio.run(_past_sessions(path))


def test_the_learned_response_recovers_the_simulated_heart(
    history: tuple[Path, HeartResponseModel],
) -> None:
    model = history[1]
    coef = model.coefficients()
    print(f"learned from {model.n_segments} segments: {coef}")
    assert model.is_ready and model.n_segments >= 100
    # The truth: +0.15 bpm per bpm of tempo, +12 bpm per unit of energy, nothing else. A ~90 s
    # track lets a 30 s heart reach ~95 % of its new demand, so estimates run a little low.
    assert 0.5 * 0.15 < coef["tempo"] < 1.4 * 0.15
    assert 0.5 * 12.0 < coef["energy"] < 1.4 * 12.0
    assert coef["start_hr"] < -0.2  # a heart above its demand comes down
    spread = _catalog().tracks[["energy", "loudness", "danceability"]].std()
    energy_effect = coef["energy"] * spread["energy"]
    assert abs(coef["loudness"]) * spread["loudness"] < energy_effect / 3  # truly 0
    assert abs(coef["danceability"]) * spread["danceability"] < energy_effect / 3  # truly 0


def _time_to_zone(session: WorkoutSession, zone: int) -> float:
    """When the settled zone first reached ``zone`` (the plan's length if it never did)."""
    replay = WorkoutSession(session.profile)
    for t, hr in session.samples():
        replay.add_sample(t, hr)
        if replay.zone is not None and replay.zone >= zone:
            return t
    return sum(p.duration_s for p in GOAL_PLAN)


async def test_goal_mode_reaches_the_goal_zone_sooner_with_the_learned_response(
    history: tuple[Path, HeartResponseModel], tmp_path: Path
) -> None:
    shutil.copy(history[0], tmp_path / "beatmatch.db")
    storage = Storage.open(tmp_path / "beatmatch.db")
    try:
        catalog = _catalog()
        models = TasteModels(storage.taste, storage.tracks, catalog, tmp_path / "models", FAST)
        picker = TastePicker(models, storage.taste, catalog)
        responses = _responses(storage, catalog.tracks)
        times: dict[str, list[float]] = {"without": [], "with": []}
        for seed in GOAL_SEEDS:
            for arm, learned in (("without", None), ("with", responses)):
                session = await _workout(
                    storage,
                    picker.pick,
                    Simulated(GOAL_PLAN, seed),
                    learned,
                    4,
                    210.0,
                    tmp_path,
                )
                times[arm].append(_time_to_zone(session, 4))
        without, with_model = np.mean(times["without"]), np.mean(times["with"])
        print(f"time to zone 4: without {times['without']}, with {times['with']}")
        assert with_model < 0.7 * without
        assert sum(a < b for a, b in zip(times["with"], times["without"], strict=True)) >= 4
    finally:
        storage.close()


def _model(tempo: float = 0.15, energy: float = 12.0) -> HeartResponseModel:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "tempo": rng.uniform(90, 170, 60),
            "energy": rng.uniform(0.1, 1.0, 60),
            "loudness": rng.uniform(-14, -3, 60),
            "danceability": rng.uniform(0.3, 0.9, 60),
            "start_hr": rng.uniform(90, 150, 60),
        }
    )
    frame["delta_hr"] = tempo * (frame["tempo"] - 120) + energy * (frame["energy"] - 0.6)
    return HeartResponseModel().fit(frame)


TRACKS = pd.DataFrame(
    {"tempo": [168.0, 140.0, 100.0], "energy": [0.95, 0.8, 0.3]},
    index=pd.Index(["fast", "middle", "slow"], name="track_id"),
)


def _steer(start_hr: float, goal: int) -> HeartSteer:
    low, high = goal_hr_band(PROFILE, goal)
    return HeartSteer(_model(), start_hr, goal, low, high)


def test_steering_up_prefers_what_raises_the_heart_and_plays_it_first() -> None:
    steer = _steer(start_hr=115.0, goal=4)
    weights = steer.weights(TRACKS)
    assert weights[0] == pytest.approx(1.0) and weights[0] > weights[1] > weights[2]
    assert steer.order(["slow", "middle", "fast"], TRACKS) == ["fast", "middle", "slow"]
    reasons = steer.reasons(TRACKS, TRACKS)
    assert "moves your heart toward zone 4" in reasons[0] and reasons[2] == ""


def test_steering_down_prefers_what_calms_the_heart() -> None:
    weights = _steer(start_hr=165.0, goal=2).weights(TRACKS)
    assert weights[2] > weights[1] > weights[0]


def test_steering_replaces_the_zone_context_only_while_the_heart_must_move() -> None:
    session = WorkoutSession(PROFILE, goal_zone=4)
    for t in range(1, 40):
        session.add_sample(float(t), 100.0)  # zone 2: must go up
    context = Context(tempo_band=(134.0, 149.0), energy=0.87, label="x")
    steer = _steer(100.0, 4)
    assert steering_context(context, session, None) == context
    assert steering_context(context, session, steer) == Context(label="x")
    with_cadence = WorkoutSession(PROFILE, goal_zone=4, cadence=170)
    with_cadence.add_sample(1.0, 100.0)
    kept = steering_context(context, with_cadence, steer)
    assert kept.tempo_band == context.tempo_band and kept.energy is None
    holding = WorkoutSession(PROFILE, goal_zone=2)
    holding.add_sample(1.0, 100.0)
    assert steering_context(context, holding, steer) == context


def test_refit_stores_the_model_in_the_user_settings_and_load_reads_it(storage: Storage) -> None:
    uid = storage.users.user_id("console", "me")
    responses = _responses(storage, TRACKS)
    assert responses.load(uid) is None and responses.ready(uid) is None
    model = responses.refit(uid)  # no workouts yet: nothing learned
    assert not model.is_ready
    stored = storage.users.user_settings(uid)[SETTINGS_KEY]
    assert stored["workouts"] == 0 and stored["model"]["n_segments"] == 0
    fresh = _responses(storage, TRACKS)
    assert fresh.load(uid) == model
    assert HeartResponses.steer(model, WorkoutSession(PROFILE, goal_zone=3)) is None


def test_no_steering_without_a_goal_or_a_reading() -> None:
    model = _model()
    assert model.is_ready
    session = WorkoutSession(PROFILE)
    assert HeartResponses.steer(model, session) is None  # no reading yet
    session.add_sample(1.0, 120.0)
    assert HeartResponses.steer(model, session) is None  # no goal
    session.set_goal(4)
    steer = HeartResponses.steer(model, session)
    assert steer is not None and (steer.goal_low, steer.goal_high) == (132.0, 168.0)
