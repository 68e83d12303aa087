"""The Spotify queue in workouts: with ``spotify.queue_in_workouts`` on, /link spotify asks for
``user-modify-playback-state`` and each track a workout picks is queued with the real spotipy client
against the fake Spotify (``POST /me/player/queue``); a listener without an active device or Premium
hears it once per workout, and queuing stops."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.replies import Reply
from tests.integration.spotify_env import ANN, SpotifyEnv, query_of, spotify_env
from tests.integration.test_workout_manager import INTERVALS, ScriptedHeart, Streams

QUEUE_PATH = "/v1/me/player/queue"
SCOPE = "user-modify-playback-state"


class Inbox:
    """What the bot sends a listener on its own (workout updates)."""

    def __init__(self) -> None:
        self.messages: list[Reply] = []

    async def __call__(self, user_id: int, reply: Reply) -> None:
        self.messages.append(reply)

    def saying(self, text: str) -> list[Reply]:
        return [r for r in self.messages if text in r.text]


@pytest.fixture
async def queued(tmp_path: Path) -> AsyncIterator[tuple[SpotifyEnv, Streams, Inbox]]:
    """A linked listener on a bot whose operator lets workouts queue on Spotify."""
    streams, inbox = Streams(), Inbox()
    async with spotify_env(
        tmp_path, saved=30, queue_in_workouts=True, heart_streams=streams
    ) as env:
        env.app.outbox.connect(inbox)
        await env.link(ANN)
        await env.settle()
        yield env, streams, inbox


async def workout(env: SpotifyEnv, streams: Streams) -> tuple[Reply, list[str]]:
    """Run the interval script as ANN (rest, hard, light); the start reply and the picked ids."""
    uid = await env.uid(ANN)
    env.storage.workouts.update_profile(uid, resting_hr=60, max_hr=180)
    heart = streams.by_user[uid] = ScriptedHeart(INTERVALS)
    started = await env.say(ANN, "/workout start")
    await asyncio.wait_for(heart.played.wait(), timeout=60)
    (row,) = env.storage.workouts.open_workouts(uid)
    await env.say(ANN, "/workout stop")  # waits for the last reading's work
    picked = [r["track_id"] for r in env.storage.workouts.workout_tracks(row["id"])]
    return started, picked


@pytest.mark.parametrize("enabled", [False, True])
async def test_the_link_asks_to_control_playback_only_when_the_operator_enables_it(
    tmp_path: Path, enabled: bool
) -> None:
    async with spotify_env(tmp_path, saved=5, queue_in_workouts=enabled) as env:
        reply = await env.say(ANN, "/link spotify")
        url = next(w for w in reply.text.split() if "authorize" in w)
        scopes = query_of(url)["scope"].split()
        assert (SCOPE in scopes) is enabled
        assert "user-library-read" in scopes


async def test_each_track_a_workout_picks_goes_into_the_spotify_queue(
    queued: tuple[SpotifyEnv, Streams, Inbox],
) -> None:
    env, streams, inbox = queued
    started, picked = await workout(env, streams)
    assert "Each track I pick goes into your Spotify queue." in started.text
    assert len(picked) >= 3  # the start and two zone changes
    assert env.world.user.queue == [f"spotify:track:{t}" for t in picked]
    assert not inbox.saying("Couldn't queue")


async def test_no_active_device_is_told_once_and_queuing_stops_for_the_workout(
    queued: tuple[SpotifyEnv, Streams, Inbox],
) -> None:
    env, streams, inbox = queued
    env.world.user.active_device = False
    _, picked = await workout(env, streams)
    assert len(picked) >= 3
    (told,) = inbox.saying("Couldn't queue")
    assert "no active device" in told.text and "Open Spotify" in told.text
    assert [c[0] for c in env.spotify.calls(QUEUE_PATH)] == ["POST"]  # not once per track
    assert len(inbox.saying("Zone ")) == 2  # the workout itself carries on
    assert env.world.user.queue == []


async def test_a_free_account_hears_once_that_queuing_needs_premium(
    queued: tuple[SpotifyEnv, Streams, Inbox],
) -> None:
    env, streams, inbox = queued
    env.world.user.premium = False
    _, picked = await workout(env, streams)
    assert len(picked) >= 3
    (told,) = inbox.saying("Couldn't queue")
    assert "Premium" in told.text
    assert len(env.spotify.calls(QUEUE_PATH)) == 1
    # The next workout tries again (the listener may have upgraded meanwhile).
    env.world.user.premium = True
    _, picked = await workout(env, streams)
    assert env.world.user.queue == [f"spotify:track:{t}" for t in picked]


async def test_nothing_is_queued_unless_the_operator_enables_it(tmp_path: Path) -> None:
    streams = Streams()
    async with spotify_env(tmp_path, saved=30, heart_streams=streams) as env:
        await env.link(ANN)
        await env.settle()
        started, picked = await workout(env, streams)
        assert picked and "Spotify queue" not in started.text
        assert env.spotify.calls(QUEUE_PATH) == []
