"""A restart of the bot mid-workout: what was acknowledged (stored) is never lost, the session is
rebuilt from it, the Pulsoid stream reconnects, and the workout carries on to its summary."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.core.catalog import demo_state
from bot.core.delivery import Outbox
from bot.core.replies import StatusReply
from bot.core.taste.models import TasteModels
from bot.core.taste.picker import TastePicker
from bot.core.workout.finish import WorkoutFinisher
from bot.core.workout.live import StreamRequest
from bot.core.workout.manager import WorkoutManager
from bot.sources.simulated_heart import SimulatedHeart, SimulatedStream
from recommender.heart import HeartProfile
from storage.database import Storage
from tests.fakes.fake_pulsoid import FakePulsoid
from tests.fakes.pulsoid_rig import Inbox, eventually, make_rig
from tests.rig import FAST

DB = "db/beatmatch.db"


@pytest.fixture
async def fake() -> AsyncIterator[FakePulsoid]:
    server = FakePulsoid(frame_interval=0.01)
    server.heart = lambda _p, n: 90.0 + (n // 25) % 3 * 20  # 90, 110, 130 bpm in turn
    await server.start()
    yield server
    await server.close()


async def test_a_clean_restart_loses_nothing_and_the_workout_carries_on(
    fake: FakePulsoid, tmp_path: Path
) -> None:
    key = Fernet.generate_key()
    storage = Storage.open(tmp_path / DB)
    first = make_rig(fake, storage, tmp_path, key=key, store_every=0.0)
    uid = await first.user()
    await first.link(uid)
    await first.manager.start(uid, 3, 170)
    await eventually(lambda: first.manager.live[uid].session.summary().samples >= 60)
    await first.close()  # the bot stops: everything read so far is stored
    before = first.manager.writer.pending_count()
    assert before == 0
    (row,) = storage.workouts.open_workouts(uid)
    stored = storage.workouts.workout_samples(row["id"])
    storage.close()

    storage = Storage.open(tmp_path / DB)  # the bot starts again
    second = make_rig(fake, storage, tmp_path, key=key, store_every=0.0)
    try:
        assert await second.manager.resume_all() == 1
        live = second.manager.live[uid]
        assert live.session.samples()[: len(stored)] == stored  # nothing acknowledged lost
        assert (live.session.goal_zone, live.session.cadence) == (3, 170)
        (resumed,) = [r for u, r in second.inbox.messages if u == uid]
        assert isinstance(resumed, StatusReply) and "carries on" in resumed.text
        await eventually(lambda: live.session.summary().samples >= len(stored) + 30)
        later = live.session.samples()[len(stored) :]
        assert later[0][0] > stored[-1][0]  # the clock goes on from the workout's start
        assert len(fake.sockets) == 1  # reconnected, once
        summary = await second.manager.stop(uid)
        assert summary.title == "Workout summary"
        assert storage.workouts.open_workouts(uid) == []
        assert len(storage.workouts.workout_samples(row["id"])) == live.session.summary().samples
    finally:
        await second.close()
        storage.close()


async def test_a_crash_keeps_every_acknowledged_sample(fake: FakePulsoid, tmp_path: Path) -> None:
    key = Fernet.generate_key()
    storage = Storage.open(tmp_path / DB)
    first = make_rig(fake, storage, tmp_path, key=key, store_every=0.0, flush_every=0.05)
    uid = await first.user()
    await first.link(uid)
    await first.manager.start(uid, None, None)
    (row,) = storage.workouts.open_workouts(uid)
    await eventually(lambda: len(storage.workouts.workout_samples(row["id"])) >= 50)
    # Crash: the workout's task dies where it stands; no shutdown, no last flush. ``discard``
    # cancels it and drops the readings not yet stored without storing anything more, as a dead
    # process would; the workout's row stays open.
    await first.manager.writer.settle()
    task = first.manager.live[uid].task
    assert task is not None
    first.manager.discard(uid)
    await asyncio.wait([task])
    await asyncio.sleep(0.05)
    acknowledged = storage.workouts.workout_samples(row["id"])
    await fake.drop_connections()

    storage2 = Storage.open(tmp_path / DB)
    second = make_rig(fake, storage2, tmp_path, key=key, store_every=0.0)
    try:
        assert await second.manager.resume_all() == 1
        restored = second.manager.live[uid].session.samples()
        assert restored[: len(acknowledged)] == acknowledged
        await eventually(lambda: second.manager.live[uid].session.summary().samples > len(restored))
    finally:
        await second.close()
        await first.close()  # what the dead process left running (nothing of the workout)
        storage2.close()
        storage.close()


async def test_downsampled_storage_restores_the_same_zone(
    fake: FakePulsoid, tmp_path: Path
) -> None:
    key = Fernet.generate_key()
    storage = Storage.open(tmp_path / DB)
    first = make_rig(fake, storage, tmp_path, key=key, store_every=0.1)
    uid = await first.user()
    fake.heart = lambda _p, _n: 120.0  # zone 3 throughout
    await first.link(uid)
    await first.manager.start(uid, None, None)
    live = first.manager.live[uid]
    await eventually(lambda: live.session.summary().samples >= 100)
    await first.close()
    (row,) = storage.workouts.open_workouts(uid)
    stored = storage.workouts.workout_samples(row["id"])
    read = live.session.summary().samples
    assert read / 20 < len(stored) < read / 4  # ~10 readings per stored sample at 100 Hz
    second = make_rig(fake, storage, tmp_path, key=key, store_every=0.1)
    try:
        await second.manager.resume_all()
        restored = second.manager.live[uid].session
        assert restored.zone == live.session.zone == 3
        assert restored.smoothed_hr == pytest.approx(120.0, abs=1.0)
    finally:
        await second.close()
        storage.close()


async def test_a_workout_whose_link_was_revoked_is_closed_with_its_summary(
    fake: FakePulsoid, tmp_path: Path
) -> None:
    key = Fernet.generate_key()
    storage = Storage.open(tmp_path / DB)
    first = make_rig(fake, storage, tmp_path, key=key)
    uid = await first.user()
    token = await first.link(uid)
    await first.manager.start(uid, None, None)
    await eventually(lambda: first.manager.live[uid].session.summary().samples >= 20)
    await first.close()
    fake.revoke_token(token)  # while the bot was down
    second = make_rig(fake, storage, tmp_path, key=key)
    try:
        assert await second.manager.resume_all() == 0
        (summary,) = [r for u, r in second.inbox.messages if u == uid]
        assert summary.title == "Workout summary" and "/link pulsoid" in summary.text
        assert storage.workouts.open_workouts(uid) == []
    finally:
        await second.close()
        storage.close()


async def test_a_simulated_workout_resumes_where_its_plan_was(tmp_path: Path) -> None:
    storage = Storage.open(tmp_path / DB)
    catalog = demo_state(200)
    models = TasteModels(storage.taste, storage.tracks, catalog, tmp_path / "models", FAST)
    picker = TastePicker(models, storage.taste, catalog)

    async def streams(request: StreamRequest) -> SimulatedStream:
        heart = SimulatedHeart(HeartProfile(resting_hr=60, max_hr=180), seed=1)
        return SimulatedStream(heart, speed=2000.0, resume_from=request.resume_from or 0.0)

    def manager() -> WorkoutManager:
        outbox = Outbox()
        outbox.connect(Inbox())
        return WorkoutManager(
            storage.workouts,
            storage.tracks,
            catalog.tracks,
            picker.pick,
            streams,
            WorkoutFinisher(storage.workouts, tmp_path),
            outbox,
            flush_every=0.02,
            keep_samples=True,
        )

    first = manager()
    uid = storage.users.user_id("console", "me")
    await first.start(uid, 4, None)
    await eventually(lambda: (first.live[uid].session.last_t or 0) >= 300)
    await first.shutdown()
    (row,) = storage.workouts.open_workouts(uid)
    last = storage.workouts.workout_samples(row["id"])[-1][0]
    second = manager()
    try:
        await second.resume_all()
        session = second.live[uid].session
        await eventually(lambda: (session.last_t or 0) > last + 10)
        times = [t for t, _ in session.samples()]
        assert times == sorted(times) and min(t for t in times if t > last) <= last + 2
        assert storage.workouts.workout_tracks(row["id"])  # suggestions survived too
    finally:
        await second.shutdown()
        storage.close()


async def test_a_restart_during_a_pulsoid_outage_keeps_the_workout_and_reconnects_later(
    fake: FakePulsoid, tmp_path: Path
) -> None:
    key = Fernet.generate_key()
    storage = Storage.open(tmp_path / DB)
    first = make_rig(fake, storage, tmp_path, key=key, backoff=(0.05, 0.1))
    uid = await first.user()
    await first.link(uid)
    await first.manager.start(uid, None, None)
    await eventually(lambda: first.manager.live[uid].session.summary().samples >= 20)
    await first.close()
    port = int(fake.base_url.rsplit(":", 1)[1].strip("/"))
    await fake.close()  # Pulsoid is down while the bot starts again
    second = make_rig(fake, storage, tmp_path, key=key, backoff=(0.05, 0.1))
    back = FakePulsoid(frame_interval=0.01, grants=fake.grants)
    try:
        assert await second.manager.resume_all() == 1  # kept, not closed
        live = second.manager.live[uid]
        before = live.session.summary().samples
        await asyncio.sleep(0.3)
        await back.start(port)  # Pulsoid is back
        await eventually(lambda: live.session.summary().samples >= before + 10)
        assert storage.workouts.open_workouts(uid)
    finally:
        await second.close()
        await back.close()
        storage.close()
