"""The live Pulsoid stream through the real aiohttp WebSocket client and the workout manager, on
a fake Pulsoid's bad days: drops, refused sockets, silence, malformed frames, drifting clocks, 401s."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.dispatch import handle_text
from bot.sources.pulsoid_stream import PulsoidHeartStream
from storage.database import Storage
from tests.fakes.fake_pulsoid import FakePulsoid
from tests.fakes.pulsoid_rig import PulsoidRig, eventually, make_rig


@pytest.fixture
async def fake() -> AsyncIterator[FakePulsoid]:
    server = FakePulsoid(frame_interval=0.02)
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def rig(fake: FakePulsoid, storage: Storage, tmp_path: Path) -> AsyncIterator[PulsoidRig]:
    built = make_rig(fake, storage, tmp_path, offline_after=0.4)
    yield built
    await built.close()


async def _stream(rig: PulsoidRig, uid: int) -> PulsoidHeartStream:
    stream = rig.manager.live[uid].stream
    assert isinstance(stream, PulsoidHeartStream)
    return stream


def _samples(rig: PulsoidRig, uid: int) -> int:
    return rig.manager.live[uid].session.summary().samples


async def test_frames_become_samples_in_arrival_order_whatever_the_device_clock(
    rig: PulsoidRig, fake: FakePulsoid
) -> None:
    uid = await rig.user()
    await rig.link(uid)
    # The strap's clock jumps around by up to a minute: only arrival order may count.
    skews = iter([-60_000, 45_000, -5_000, 30_000] * 1000)
    fake.heart = lambda _p, n: 100.0 + n % 7
    original = fake.device_ms
    fake.device_ms = lambda: original() + next(skews)  # type: ignore[method-assign]
    started = time.time()
    reply = await rig.manager.start(uid, None, None)
    assert "Workout started (Pulsoid)" in reply.text
    await eventually(lambda: _samples(rig, uid) >= 30)
    samples = rig.manager.live[uid].session.samples()
    times = [t for t, _ in samples]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert 0.0 < times[0] < times[-1] <= time.time() - started + 0.5  # seconds since the start
    assert {hr for _, hr in samples} <= {100.0 + k for k in range(7)}
    (socket_request,) = [p for m, p, _ in fake.requests if p.endswith("/real_time")]
    assert socket_request == "/api/v1/data/real_time"  # the token is in the header only


async def test_a_dropped_socket_reconnects_after_revalidating_the_token(
    rig: PulsoidRig, fake: FakePulsoid
) -> None:
    uid = await rig.user()
    await rig.link(uid)
    await rig.manager.start(uid, None, None)
    await eventually(lambda: _samples(rig, uid) >= 5)
    stream = await _stream(rig, uid)
    validations = sum(1 for _, p, _ in fake.requests if p.endswith("/token/validate"))
    await fake.drop_connections()  # a clean close
    await eventually(lambda: stream.connects == 2)
    await fake.drop_connections(abort=True)  # the TCP connection just dies
    await eventually(lambda: stream.connects == 3)
    before = _samples(rig, uid)
    await eventually(lambda: _samples(rig, uid) >= before + 5)
    after = sum(1 for _, p, _ in fake.requests if p.endswith("/token/validate"))
    assert after == validations + 2  # once before each reconnect
    assert rig.inbox.texts(uid) == [] or all("offline" not in t for t in rig.inbox.texts(uid))


async def test_latest_fills_in_while_the_socket_is_refused_and_backoff_grows(
    fake: FakePulsoid, storage: Storage, tmp_path: Path
) -> None:
    rig = make_rig(fake, storage, tmp_path, offline_after=5.0, backoff=(0.2, 0.4))
    try:
        uid = await rig.user()
        await rig.link(uid)
        await rig.manager.start(uid, None, None)
        await eventually(lambda: _samples(rig, uid) >= 3)
        fake.refuse_sockets = 3
        stopped = asyncio.Event()

        async def device() -> None:  # the phone app keeps uploading to Pulsoid meanwhile
            beat = 0
            while not stopped.is_set():
                beat += 1
                fake.latest["profile-1"] = (fake.device_ms() + beat, 140.0)
                await asyncio.sleep(0.03)

        feeder = asyncio.get_running_loop().create_task(device())
        begin = asyncio.get_running_loop().time()
        await fake.drop_connections()
        stream = await _stream(rig, uid)
        await eventually(lambda: stream.connects == 2 and not fake.refuse_sockets)
        waited = asyncio.get_running_loop().time() - begin
        stopped.set()
        await feeder
        # Refused three times: 0.2 + 0.4 + 0.4 s of pauses (2 → 10 s in production).
        assert waited >= 0.9
        from_rest = [hr for _, hr in rig.manager.live[uid].session.samples() if hr == 140.0]
        assert len(from_rest) >= 10  # "latest" kept the workout going while the socket was down
        # Never silent long enough to call it offline (the workout's own messages may come).
        assert all("offline" not in t.lower() for t in rig.inbox.texts(uid))
    finally:
        await rig.close()


async def test_a_silent_monitor_is_told_once_per_outage_and_the_workout_carries_on(
    rig: PulsoidRig, fake: FakePulsoid
) -> None:
    uid = await rig.user()
    await rig.link(uid)
    await rig.manager.start(uid, None, None)
    await eventually(lambda: _samples(rig, uid) >= 5)
    fake.silent = True
    await eventually(lambda: rig.inbox.containing(uid, "offline"))
    await asyncio.sleep(1.0)  # still silent: no second message
    assert len(rig.inbox.containing(uid, "offline")) == 1
    assert "monitor offline" in rig.manager.status(uid).text
    before = _samples(rig, uid)
    fake.silent = False
    await eventually(lambda: _samples(rig, uid) >= before + 5)
    assert "monitor offline" not in rig.manager.status(uid).text
    fake.silent = True  # a second outage is a new one
    await eventually(lambda: len(rig.inbox.containing(uid, "offline")) == 2)


async def test_malformed_frames_are_skipped_and_the_stream_goes_on(
    rig: PulsoidRig, fake: FakePulsoid
) -> None:
    uid = await rig.user()
    await rig.link(uid)
    fake.malformed = 12
    await rig.manager.start(uid, None, None)
    await eventually(lambda: _samples(rig, uid) >= 10)
    stream = await _stream(rig, uid)
    assert stream.malformed == 12 and stream.connects == 1
    assert all(hr == 120.0 for _, hr in rig.manager.live[uid].session.samples())


async def test_a_token_revoked_mid_workout_asks_to_relink_and_keeps_the_record(
    rig: PulsoidRig, fake: FakePulsoid, storage: Storage
) -> None:
    uid = await rig.user()
    await rig.link(uid)
    await rig.manager.start(uid, None, None)
    await eventually(lambda: _samples(rig, uid) >= 10)
    fake.revoke_profile("profile-1")  # the user removed beatmatch at pulsoid.net
    await eventually(lambda: rig.inbox.containing(uid, "Link it again: /link pulsoid"))
    recorded = _samples(rig, uid)  # the stream ended: nothing more arrives
    (workout,) = storage.workouts.open_workouts(uid)
    reply = await handle_text(rig.service, rig.chat_user(), "/workout stop")
    assert reply.title == "Workout summary" and reply.charts[0].path.is_file()
    assert len(storage.workouts.workout_samples(workout["id"])) == recorded
