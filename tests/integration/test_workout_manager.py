"""Live workouts through the WorkoutManager: a scripted heart stream, a real database, a tiny
catalog, a simple picker; what the user is told and what is stored."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from bot.core.catalog import CatalogState
from bot.core.delivery import Outbox
from bot.core.dispatch import handle_text
from bot.core.errors import BadInput, UserFacingError
from bot.core.ports import Player
from bot.core.replies import ChatUser, Reply, StatusReply
from bot.core.workout.finish import WorkoutFinisher
from bot.core.workout.live import HeartStreamFactory, StreamRequest
from bot.core.workout.manager import WorkoutManager
from recommender.context import Context
from recommender.heart import HeartProfile
from recommender.ranking import Steer
from storage.catalog_csv import read_catalog
from storage.database import Storage
from storage.workout_store import WorkoutStore
from tests.conftest import CatalogFile, ExportifyFile
from tests.rig import make_app, settle

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# Resting 60, max 180 (reserve 120): zone 2 from 96, zone 3 from 108, zone 4 from 132 bpm.
EASY, HARD, LIGHT = 90.0, 150.0, 100.0
#: Store every reading (no downsampling) and flush often, so tests can compare exact samples.
EVERY_READING: dict[str, Any] = {"store_every": 0.0, "flush_every": 0.01}


def script(*parts: tuple[float, int]) -> list[tuple[float, float]]:
    """1 Hz samples: each part is (hr, seconds), one after the other."""
    samples: list[tuple[float, float]] = []
    t = 0.0
    for hr, seconds in parts:
        for _ in range(seconds):
            samples.append((t, hr))
            t += 1.0
    return samples


class ScriptedHeart:
    """A HeartStream that plays a list of (t, hr) samples, then ends, waits, or fails."""

    source = "script"

    def __init__(
        self, samples: list[tuple[float, float]], then: str = "wait", fail_after: int | None = None
    ) -> None:
        self.script = samples
        self.then = then
        self.fail_after = fail_after
        self.delivered = 0
        self.played = asyncio.Event()
        self.tracks: list[Mapping[str, Any] | pd.Series | None] = []

    async def samples(self) -> AsyncGenerator[tuple[float, float], None]:
        for number, sample in enumerate(self.script):
            if self.fail_after is not None and number == self.fail_after:
                self.played.set()
                raise ConnectionError("heart-rate monitor went away")
            await asyncio.sleep(0)
            self.delivered += 1
            yield sample
        self.played.set()
        if self.then == "wait":
            await asyncio.Event().wait()  # a live monitor: more samples some day

    def on_track(self, features: Mapping[str, Any] | pd.Series | None) -> None:
        self.tracks.append(features)


class Inbox:
    """The notifier: every message the manager sends to a user."""

    def __init__(self) -> None:
        self.messages: list[tuple[int, Reply]] = []

    async def __call__(self, user_id: int, reply: Reply) -> None:
        self.messages.append((user_id, reply))

    def zone_messages(self, user_id: int) -> list[Reply]:
        return [r for u, r in self.messages if u == user_id and r.text.startswith("Zone ")]


class EnergyPicker:
    """Picks the catalog tracks whose energy is closest to what the heart asks for."""

    def __init__(self, tracks: pd.DataFrame) -> None:
        self.tracks = tracks
        self.contexts: list[Context] = []

    def __call__(
        self,
        user_id: int,
        context: Context,
        n: int,
        exclude: set[str],
        steer: Steer | None = None,
    ) -> list[tuple[str, str]]:
        self.contexts.append(context)
        pool = self.tracks[~self.tracks.index.isin(list(exclude))]
        target = context.energy if context.energy is not None else 0.5
        order = np.argsort(np.abs(pool["energy"].to_numpy() - target), kind="stable")
        return [(str(pool.index[i]), f"energy near {target:.2f}") for i in order[:n]]


class Streams:
    """The stream factory: hands out the scripted heart prepared for each user."""

    def __init__(self) -> None:
        self.by_user: dict[int, ScriptedHeart] = {}
        self.profiles: dict[int, HeartProfile] = {}

    async def __call__(self, request: StreamRequest) -> ScriptedHeart:
        self.profiles[request.user_id] = request.profile
        return self.by_user[request.user_id]


def build_manager(
    storage: Storage,
    tracks: pd.DataFrame,
    picker: EnergyPicker,
    streams: HeartStreamFactory,
    charts_dir: Path,
    *,
    inbox: Inbox | None = None,
    workouts: WorkoutStore | None = None,
    player: Player | None = None,
    **options: Any,
) -> WorkoutManager:
    """A manager over ``storage`` (or another ``workouts`` store) whose messages go to ``inbox``."""
    workouts = workouts or storage.workouts
    outbox = Outbox()
    outbox.connect(inbox)
    finisher = WorkoutFinisher(workouts, charts_dir)
    return WorkoutManager(
        workouts,
        storage.tracks,
        tracks,
        picker,
        streams,
        finisher,
        outbox,
        player=player,
        **options,
    )


@pytest.fixture
def tracks(tiny_catalog: CatalogFile) -> pd.DataFrame:
    return read_catalog(tiny_catalog.path)[0]


@pytest.fixture
def parts(
    storage: Storage, tracks: pd.DataFrame, tmp_path: Path
) -> tuple[WorkoutManager, Streams, Inbox, EnergyPicker]:
    streams, inbox, picker = Streams(), Inbox(), EnergyPicker(tracks)
    manager = build_manager(
        storage, tracks, picker, streams, tmp_path / "charts", inbox=inbox, **EVERY_READING
    )
    return manager, streams, inbox, picker


@pytest.fixture
async def manager(
    parts: tuple[WorkoutManager, Streams, Inbox, EnergyPicker],
) -> AsyncIterator[WorkoutManager]:
    yield parts[0]
    await parts[0].shutdown()


def _user(storage: Storage, name: str = "runner") -> int:
    uid = storage.users.user_id("telegram", name)
    storage.workouts.update_profile(uid, resting_hr=60, max_hr=180)
    return uid


async def _played(stream: ScriptedHeart) -> None:
    await asyncio.wait_for(stream.played.wait(), timeout=30)
    for _ in range(5):  # let the last sample's work (picks, writes) finish
        await asyncio.sleep(0.01)


INTERVALS = script((EASY, 120), (HARD, 180), (LIGHT, 180))


async def test_zone_changes_are_announced_with_three_tracks(
    manager: WorkoutManager, parts: tuple, storage: Storage
) -> None:
    _, streams, inbox, _ = parts
    uid = _user(storage)
    streams.by_user[uid] = ScriptedHeart(INTERVALS)
    reply = await manager.start(uid, goal_zone=None, cadence=None)
    assert "Workout started" in reply.text
    await _played(streams.by_user[uid])
    messages = inbox.zone_messages(uid)
    assert [m.text.split(",")[0] for m in messages] == ["Zone 4 (vigorous)", "Zone 2 (light)"]
    assert "up from zone 1" in messages[0].text
    assert "down from zone 4" in messages[1].text
    for message in messages:
        assert len(message.tracks) == 3
        assert all(c.url.startswith("https://open.spotify.com/track/") for c in message.tracks)
    first, second = ({c.track_id for c in m.tracks} for m in messages)
    assert not first & second, "the same tracks were suggested twice"
    hard = manager.tracks.loc[list(first), "energy"].mean()
    light = manager.tracks.loc[list(second), "energy"].mean()
    assert hard > light


async def test_the_music_target_follows_the_heart(
    manager: WorkoutManager, parts: tuple, storage: Storage
) -> None:
    _, streams, _, picker = parts
    uid = _user(storage)
    streams.by_user[uid] = ScriptedHeart(INTERVALS)
    await manager.start(uid, None, None)
    await _played(streams.by_user[uid])
    energies = [c.energy for c in picker.contexts if c.energy is not None]
    assert energies[0] < max(energies)
    context = manager.context(uid)
    assert context is not None and context.tempo_band is not None
    assert "zone 2" in context.label
    assert streams.by_user[uid].tracks, "the stream hears about the suggested tracks"


async def test_every_sample_is_stored_by_stop(
    manager: WorkoutManager, parts: tuple, storage: Storage
) -> None:
    _, streams, _, _ = parts
    uid = _user(storage)
    samples = script((EASY, 33), (HARD, 4))  # 37 samples: not a multiple of any flush batch
    streams.by_user[uid] = ScriptedHeart(samples)
    await manager.start(uid, None, None)
    await _played(streams.by_user[uid])
    (workout,) = storage.workouts.open_workouts(uid)
    await manager.stop(uid)
    assert storage.workouts.workout_samples(workout["id"]) == samples
    assert storage.workouts.open_workouts(uid) == []


async def test_samples_are_stored_while_the_workout_runs(
    manager: WorkoutManager, parts: tuple, storage: Storage
) -> None:
    _, streams, _, _ = parts
    uid = _user(storage)
    streams.by_user[uid] = ScriptedHeart(script((EASY, 60)))
    await manager.start(uid, None, None)
    await _played(streams.by_user[uid])
    (workout,) = storage.workouts.open_workouts(uid)
    assert (
        len(storage.workouts.workout_samples(workout["id"])) >= 55
    )  # at most a few seconds wait in memory


async def test_stop_gives_a_summary_with_a_chart(
    manager: WorkoutManager, parts: tuple, storage: Storage
) -> None:
    _, streams, _, _ = parts
    uid = _user(storage)
    streams.by_user[uid] = ScriptedHeart(INTERVALS)
    await manager.start(uid, 3, None)
    await _played(streams.by_user[uid])
    (workout,) = storage.workouts.open_workouts(uid)
    reply = await manager.stop(uid)
    assert reply.title == "Workout summary"
    assert "8.0 min" in reply.text  # 480 one-second samples
    assert "2 zone changes" in reply.text
    (chart,) = reply.charts
    assert chart.path.is_file()
    assert chart.path.read_bytes()[:8] == PNG_MAGIC
    finished = storage.workouts.finished_workouts(uid)
    assert list(finished["id"]) == [workout["id"]]
    assert '"zone_changes": 2' in finished.loc[0, "summary"]
    assert storage.workouts.workout_tracks(workout["id"]), "suggested tracks are stored"


async def test_stop_twice_is_a_user_error(
    manager: WorkoutManager, parts: tuple, storage: Storage
) -> None:
    _, streams, _, _ = parts
    uid = _user(storage)
    streams.by_user[uid] = ScriptedHeart(script((EASY, 10)))
    await manager.start(uid, None, None)
    await _played(streams.by_user[uid])
    await manager.stop(uid)
    with pytest.raises(UserFacingError, match="No workout"):
        await manager.stop(uid)


async def test_stop_before_any_sample(
    manager: WorkoutManager, parts: tuple, storage: Storage
) -> None:
    _, streams, _, _ = parts
    uid = _user(storage)
    streams.by_user[uid] = ScriptedHeart([])
    await manager.start(uid, None, None)
    status = manager.status(uid)
    assert "waiting" in status.text
    reply = await manager.stop(uid)
    assert "before any heart-rate reading" in reply.text
    assert reply.charts[0].path.is_file()


async def test_start_twice_is_a_user_error(
    manager: WorkoutManager, parts: tuple, storage: Storage
) -> None:
    _, streams, _, _ = parts
    uid = _user(storage)
    streams.by_user[uid] = ScriptedHeart(script((EASY, 5)))
    await manager.start(uid, None, None)
    with pytest.raises(BadInput, match="already running"):
        await manager.start(uid, None, None)
    assert len(storage.workouts.open_workouts(uid)) == 1


async def test_status_during_a_workout(
    manager: WorkoutManager, parts: tuple, storage: Storage
) -> None:
    _, streams, _, _ = parts
    uid = _user(storage)
    streams.by_user[uid] = ScriptedHeart(script((HARD, 90)))
    await manager.start(uid, None, None)
    await _played(streams.by_user[uid])
    text = manager.status(uid).text
    assert "zone 4" in text and "bpm" in text
    with pytest.raises(UserFacingError):
        manager.status(uid + 1)


async def test_a_finished_plan_stops_by_itself_and_says_so(
    manager: WorkoutManager, parts: tuple, storage: Storage
) -> None:
    _, streams, inbox, _ = parts
    uid = _user(storage)
    samples = script((EASY, 40))
    streams.by_user[uid] = ScriptedHeart(samples, then="end")
    await manager.start(uid, None, None)
    task = manager.live[uid].task
    assert task is not None
    await asyncio.wait_for(task, timeout=30)
    summaries = [r for u, r in inbox.messages if r.title == "Workout summary"]
    assert len(summaries) == 1
    assert "plan is over" in summaries[0].text
    assert uid not in manager.live
    (finished,) = storage.workouts.finished_workouts(uid)["id"]
    assert storage.workouts.workout_samples(int(finished)) == samples


async def test_a_failing_stream_apologises_and_keeps_the_bot_running(
    manager: WorkoutManager, parts: tuple, storage: Storage
) -> None:
    _, streams, inbox, _ = parts
    uid, other = _user(storage, "unlucky"), _user(storage, "other")
    streams.by_user[uid] = ScriptedHeart(script((EASY, 30)), fail_after=12)
    streams.by_user[other] = ScriptedHeart(script((EASY, 20)))
    await manager.start(uid, None, None)
    await _played(streams.by_user[uid])
    apologies = [r for u, r in inbox.messages if u == uid and r.error]
    assert len(apologies) == 1
    assert "Sorry" in apologies[0].text
    (workout,) = storage.workouts.open_workouts(uid)
    assert len(storage.workouts.workout_samples(workout["id"])) == 12  # what was recorded is saved
    summary = await manager.stop(uid)
    assert summary.charts[0].path.is_file()
    await manager.start(other, None, None)  # the manager still serves everyone
    await _played(streams.by_user[other])
    assert manager.status(other).text


async def test_a_failing_notifier_does_not_stop_the_workout(
    manager: WorkoutManager, parts: tuple, storage: Storage
) -> None:
    _, streams, _, _ = parts

    async def broken(_user_id: int, _reply: Reply) -> None:
        raise RuntimeError("chat is down")

    manager.outbox.connect(broken)
    uid = _user(storage)
    streams.by_user[uid] = ScriptedHeart(INTERVALS)
    await manager.start(uid, None, None)
    await _played(streams.by_user[uid])
    (workout,) = storage.workouts.open_workouts(uid)
    reply = await manager.stop(uid)
    assert "2 zone changes" in reply.text
    assert len(storage.workouts.workout_samples(workout["id"])) == len(INTERVALS)


async def test_two_users_work_out_at_once(
    manager: WorkoutManager, parts: tuple, storage: Storage
) -> None:
    _, streams, inbox, _ = parts
    ann, bob = _user(storage, "ann"), _user(storage, "bob")
    streams.by_user[ann] = ScriptedHeart(INTERVALS)
    streams.by_user[bob] = ScriptedHeart(script((EASY, 200)))
    await manager.start(ann, None, None)
    await manager.start(bob, None, None)
    await _played(streams.by_user[ann])
    await _played(streams.by_user[bob])
    assert len(inbox.zone_messages(ann)) == 2
    assert inbox.zone_messages(bob) == []
    ann_summary, bob_summary = await manager.stop(ann), await manager.stop(bob)
    assert ann_summary.charts[0].path != bob_summary.charts[0].path


async def test_profile_from_the_database_sets_the_zones(
    manager: WorkoutManager, parts: tuple, storage: Storage
) -> None:
    _, streams, _, _ = parts
    uid = storage.users.user_id("telegram", "fit")
    storage.workouts.update_profile(uid, age=34, resting_hr=58, goal_zone=3)
    streams.by_user[uid] = ScriptedHeart([])
    reply = await manager.start(uid, None, None)
    assert streams.profiles[uid] == HeartProfile(age=34, resting_hr=58, goal_zone=3)
    assert "resting 58 and max 184" in reply.text
    assert "Goal: zone 3" in reply.text
    assert "defaults" not in reply.text


async def test_shutdown_keeps_the_workout_open_with_its_samples(
    parts: tuple, storage: Storage
) -> None:
    manager, streams, _, _ = parts
    uid = _user(storage)
    streams.by_user[uid] = ScriptedHeart(script((EASY, 23)))
    await manager.start(uid, None, None)
    await _played(streams.by_user[uid])
    await manager.shutdown()
    (workout,) = storage.workouts.open_workouts(uid)
    assert len(storage.workouts.workout_samples(workout["id"])) == 23
    assert manager.live == {}


async def test_discard_forgets_the_live_workout_and_its_charts(
    manager: WorkoutManager, parts: tuple, storage: Storage
) -> None:
    _, streams, _, _ = parts
    uid = _user(storage)
    streams.by_user[uid] = ScriptedHeart(script((EASY, 10)))
    await manager.start(uid, None, None)
    await _played(streams.by_user[uid])
    old_chart = (await manager.stop(uid)).charts[0].path
    streams.by_user[uid] = ScriptedHeart(script((EASY, 10)))
    await manager.start(uid, None, None)
    manager.discard(uid)
    assert uid not in manager.live
    assert not old_chart.exists()
    assert manager.context(uid) is None


class SlowDiskWorkouts(WorkoutStore):
    """The real workouts store on a disk that stalls: the first sample write waits for
    ``release`` (or three seconds, so code that waits for the write still finishes)."""

    def __init__(self, storage: Storage) -> None:
        super().__init__(storage.sql)
        self.writing = asyncio.Event()
        self.release = threading.Event()
        self.loop = asyncio.get_running_loop()

    def store_hr_batches(self, batches: Any) -> int:
        self.loop.call_soon_threadsafe(self.writing.set)
        self.release.wait(timeout=3.0)
        return super().store_hr_batches(batches)


async def test_samples_being_written_when_stop_comes_are_stored_before_stop_returns(
    tmp_path: Path, tracks: pd.DataFrame
) -> None:
    storage = Storage.open(tmp_path / "slow.db")
    slow = SlowDiskWorkouts(storage)
    try:
        streams = Streams()
        manager = build_manager(
            storage,
            tracks,
            EnergyPicker(tracks),
            streams,
            tmp_path / "charts",
            workouts=slow,
            **EVERY_READING,
        )
        uid = _user(storage)
        streams.by_user[uid] = ScriptedHeart(script((EASY, 8)))
        await manager.start(uid, None, None)
        (workout,) = slow.open_workouts(uid)
        await asyncio.wait_for(slow.writing.wait(), timeout=10)  # the first batch is on its way
        await manager.stop(uid)
        stored_at_stop = slow.workout_samples(workout["id"])
        slow.release.set()
        for _ in range(100):
            await asyncio.sleep(0.02)
            if slow.workout_samples(workout["id"]):
                break
        assert stored_at_stop == slow.workout_samples(workout["id"])
    finally:
        slow.release.set()
        await asyncio.sleep(0.1)
        storage.close()


class NoMonitor:
    """A stream factory for a user who has not linked a heart-rate monitor."""

    async def __call__(self, request: StreamRequest) -> ScriptedHeart:
        raise UserFacingError("Link Pulsoid first: /link pulsoid.")


async def test_a_stream_that_cannot_open_leaves_no_open_workout(
    storage: Storage, tracks: pd.DataFrame, tmp_path: Path
) -> None:
    manager = build_manager(storage, tracks, EnergyPicker(tracks), NoMonitor(), tmp_path)
    uid = _user(storage)
    with pytest.raises(UserFacingError, match="Pulsoid"):
        await manager.start(uid, None, None)
    assert uid not in manager.live
    assert storage.workouts.open_workouts(uid) == []


async def test_workout_commands_through_the_service(
    storage: Storage, tiny_catalog: CatalogFile, tiny_exportify: ExportifyFile, tmp_path: Path
) -> None:
    tracks, genres = read_catalog(tiny_catalog.path)
    catalog = CatalogState(tracks=tracks, genres=genres, is_demo=False)
    streams, inbox = Streams(), Inbox()
    app = make_app(tmp_path, catalog, storage=storage, heart_streams=streams)
    app.outbox.connect(inbox)
    service = app.service
    user = ChatUser("console", "me")
    try:
        await service.taste.import_library(user, str(tiny_exportify.path))
        uid = await service.users.uid(user)
        await service.workout.profile(user, resting_hr=60, max_hr=180)
        streams.by_user[uid] = ScriptedHeart(INTERVALS)
        started = await handle_text(service, user, "/workout start goal:moderate")
        assert "Goal: zone 3 (moderate)" in started.text
        await _played(streams.by_user[uid])
        assert "zone 2" in (await service.workout.workout(user, "status")).text
        during = await service.taste.recommend(user, 3)
        assert "following your heart rate" in during.title
        library = set(storage.taste.library(uid)["track_id"])
        for message in inbox.zone_messages(uid):
            assert len(message.tracks) == 3
            assert not {c.track_id for c in message.tracks} & library
        summary = await service.workout.workout(user, "stop")
        assert summary.charts[0].path.is_file()
        with pytest.raises(BadInput):
            await service.workout.workout(user, "dance")
    finally:
        await settle(app)
        await app.shutdown()


async def test_zone_messages_are_status_messages_with_one_edit_key_per_workout(
    manager: WorkoutManager, parts: tuple, storage: Storage
) -> None:
    _, streams, inbox, _ = parts
    uid = _user(storage)
    streams.by_user[uid] = ScriptedHeart(INTERVALS)
    await manager.start(uid, None, None)
    await _played(streams.by_user[uid])
    messages = inbox.zone_messages(uid)
    assert len(messages) == 2
    assert all(isinstance(m, StatusReply) for m in messages)
    (workout,) = storage.workouts.open_workouts(uid)
    assert {m.edit_key for m in messages} == {f"workout-{workout['id']}"}


async def test_readings_are_stored_downsampled_to_one_per_five_seconds(
    storage: Storage, tracks: pd.DataFrame, tmp_path: Path
) -> None:
    streams = Streams()
    manager = build_manager(
        storage, tracks, EnergyPicker(tracks), streams, tmp_path, store_every=5.0, flush_every=0.01
    )
    uid = _user(storage)
    samples = script((EASY, 30), (HARD, 30))  # t = 0 … 59
    streams.by_user[uid] = ScriptedHeart(samples)
    try:
        await manager.start(uid, None, None)
        await _played(streams.by_user[uid])
        (workout,) = storage.workouts.open_workouts(uid)
        await manager.stop(uid)
        stored = storage.workouts.workout_samples(workout["id"])
        assert [t for t, _ in stored] == [4.0 + 5 * k for k in range(12)]  # each window's last
        assert [hr for _, hr in stored] == [EASY] * 6 + [HARD] * 6  # each window's mean
    finally:
        await manager.shutdown()


async def test_a_silent_monitor_is_told_once(
    storage: Storage, tracks: pd.DataFrame, tmp_path: Path
) -> None:
    streams, inbox = Streams(), Inbox()
    manager = build_manager(
        storage,
        tracks,
        EnergyPicker(tracks),
        streams,
        tmp_path,
        inbox=inbox,
        offline_after=0.2,
        **EVERY_READING,
    )
    uid = _user(storage)
    streams.by_user[uid] = ScriptedHeart(script((EASY, 10)))  # then nothing more
    try:
        await manager.start(uid, None, None)
        await asyncio.sleep(1.0)
        offline = [r for u, r in inbox.messages if "offline" in r.text]
        assert len(offline) == 1 and "No heart rate for 0.2 s" in offline[0].text
    finally:
        await manager.shutdown()


class FakePlayer:
    """A Spotify player port: grants the scope to some users, queues what it is told."""

    def __init__(self, granted: set[int], fail: bool = False) -> None:
        self.granted = granted
        self.fail = fail
        self.queued: list[tuple[int, str]] = []

    async def can_queue(self, user_id: int) -> bool:
        return user_id in self.granted

    async def queue(self, user_id: int, track_id: str) -> None:
        if self.fail:
            raise UserFacingError("No active Spotify device: start playing somewhere first.")
        self.queued.append((user_id, track_id))


async def test_each_pick_is_queued_on_the_player_when_the_scope_was_granted(
    storage: Storage, tracks: pd.DataFrame, tmp_path: Path
) -> None:
    streams, inbox = Streams(), Inbox()
    ann, bob = _user(storage, "ann"), _user(storage, "bob")
    player = FakePlayer(granted={ann})
    manager = build_manager(
        storage,
        tracks,
        EnergyPicker(tracks),
        streams,
        tmp_path,
        inbox=inbox,
        player=player,
        **EVERY_READING,
    )
    streams.by_user[ann] = ScriptedHeart(INTERVALS)
    streams.by_user[bob] = ScriptedHeart(INTERVALS)
    try:
        started = await manager.start(ann, None, None)
        assert "Spotify queue" in started.text
        await manager.start(bob, None, None)
        await _played(streams.by_user[ann])
        await _played(streams.by_user[bob])
        (workout,) = storage.workouts.open_workouts(ann)
        suggested = [r["track_id"] for r in storage.workouts.workout_tracks(workout["id"])]
        assert player.queued == [(ann, t) for t in suggested]
    finally:
        await manager.shutdown()


async def test_a_player_that_cannot_queue_is_mentioned_once(
    storage: Storage, tracks: pd.DataFrame, tmp_path: Path
) -> None:
    streams, inbox = Streams(), Inbox()
    uid = _user(storage)
    player = FakePlayer(granted={uid}, fail=True)
    manager = build_manager(
        storage,
        tracks,
        EnergyPicker(tracks),
        streams,
        tmp_path,
        inbox=inbox,
        player=player,
        **EVERY_READING,
    )
    streams.by_user[uid] = ScriptedHeart(INTERVALS)
    try:
        await manager.start(uid, None, None)
        await _played(streams.by_user[uid])
        told = [r for _, r in inbox.messages if "Couldn't queue" in r.text]
        assert len(told) == 1 and "No active Spotify device" in told[0].text
        assert len(inbox.zone_messages(uid)) == 2  # the workout itself carries on
    finally:
        await manager.shutdown()


async def test_workout_start_takes_goal_and_cadence_as_plain_words(
    storage: Storage, tracks: pd.DataFrame, tmp_path: Path
) -> None:
    catalog = CatalogState(
        tracks=tracks, genres=pd.DataFrame(columns=["track_id", "genre"]), is_demo=False
    )
    streams = Streams()
    app = make_app(tmp_path, catalog, storage=storage, heart_streams=streams)
    user = ChatUser("console", "me")
    try:
        uid = await app.service.users.uid(user)
        streams.by_user[uid] = ScriptedHeart([])
        reply = await handle_text(app.service, user, "/workout start vigorous 172")
        assert "Goal: zone 4 (vigorous)" in reply.text and "Cadence: 172" in reply.text
        wrong = await handle_text(app.service, user, "/workout stop 3")
        assert wrong.error
    finally:
        await settle(app)
        await app.shutdown()
