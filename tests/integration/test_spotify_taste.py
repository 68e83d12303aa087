"""Reading a linked listener's taste: every source, each page once and concurrently, into library
rows and top artists; audio features through catalog → ReccoBeats → legacy → missing, all cached."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from recommender.tracks import AUDIO_FEATURES
from tests.integration.spotify_env import ANN, SpotifyEnv, spotify_env


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[SpotifyEnv]:
    async with spotify_env(tmp_path) as e:
        yield e


async def test_every_source_lands_in_the_library_with_its_ranks(env: SpotifyEnv) -> None:
    await env.link(ANN)
    uid = await env.uid(ANN)
    library = env.storage.taste.library(uid)
    counts = Counter(library["source"])
    user = env.world.user
    assert counts["saved"] == len(user.saved) == 60
    assert counts["top_short"] == counts["top_medium"] == counts["top_long"] == 20
    own_items = {
        t
        for p in user.playlists
        if p.playlist_id != env.world.followed_playlist
        for t, _ in p.items
    }
    assert counts["playlist"] == len(own_items)
    saved = library[library["source"] == "saved"].sort_values("rank")
    assert list(saved["track_id"]) == [t for t, _ in user.saved]
    assert saved["added_at"].iloc[0] == user.saved[0][1]
    assert set(library["track_id"]) == env.world.library_ids
    top = env.storage.taste.top_artists(uid)
    assert set(top["time_range"]) == {"short", "medium", "long"}
    assert (
        list(top[top["time_range"] == "short"].sort_values("rank")["artist"])
        == user.top_artists["short"]
    )
    tracks = env.storage.tracks.get_tracks(env.world.in_reccobeats[:1])
    assert tracks.iloc[0]["name"].startswith("Library Song")


async def test_each_page_is_read_once_and_followed_playlists_not_at_all(env: SpotifyEnv) -> None:
    env.spotify.latency = 0.02
    await env.link(ANN)
    calls = env.spotify.calls()
    pages = Counter(
        (path, q.get("offset"), q.get("time_range")) for m, path, q in calls if m == "GET"
    )
    assert max(pages.values()) == 1, [p for p, n in pages.items() if n > 1]
    assert not any(path.startswith("/v1/tracks") for _, path, _ in calls)  # tracks come with pages
    assert not any(env.world.followed_playlist in path for _, path, _ in calls)
    assert not any(p.startswith("/v1/playlists/") and p.endswith("/tracks") for _, p, _ in calls)
    assert env.spotify.max_in_flight >= 4  # pages with known offsets go out together


async def test_features_come_from_the_catalog_first_then_reccobeats(env: SpotifyEnv) -> None:
    await env.link(ANN)
    world = env.world
    asked = set(env.recco.asked)
    assert not asked & set(world.in_catalog)  # the catalog answered those
    assert set(world.in_reccobeats) <= asked and set(world.unknown) <= asked
    assert all(len(ids) <= 40 for ids in env.recco.requests)
    sources = env.storage.tracks.feature_sources(world.library_ids)
    assert {sources[t] for t in world.in_catalog} == {"catalog"}
    assert {sources[t] for t in world.in_reccobeats} == {"reccobeats"}
    assert not set(world.unknown) & set(sources)
    assert env.storage.tracks.feature_misses(world.unknown, "reccobeats") == set(world.unknown)
    stored = env.storage.tracks.get_tracks(world.in_reccobeats[:3])
    assert stored[list(AUDIO_FEATURES[:11])].notna().all().all()


async def test_a_second_read_asks_reccobeats_nothing(env: SpotifyEnv) -> None:
    await env.link(ANN)
    asked_before = len(env.recco.requests)
    report = await env.library.read(await env.uid(ANN), env.notify)
    assert len(env.recco.requests) == asked_before  # hits and misses are both cached
    assert report.features.missing == len(env.world.unknown)


async def test_reccobeats_429_is_waited_out(env: SpotifyEnv) -> None:
    env.recco.throttle(times=2, retry_after=0.1)
    await env.link(ANN)
    sources = env.storage.tracks.feature_sources(env.world.in_reccobeats)
    assert set(sources) == set(env.world.in_reccobeats)


async def test_reccobeats_down_leaves_features_missing_but_the_library_read(
    env: SpotifyEnv,
) -> None:
    env.recco.fail(times=1000)
    await env.link(ANN)
    uid = await env.uid(ANN)
    assert env.storage.taste.library_size(uid) == len(env.world.library_ids)
    assert not env.storage.tracks.feature_sources(env.world.in_reccobeats)
    assert not env.storage.tracks.feature_misses(
        env.world.unknown, "reccobeats"
    )  # a failure isn't a miss
    assert any("reccobeats could not be reached" in n for n in env.notes)


async def test_legacy_audio_features_are_asked_only_in_legacy_mode(
    env: SpotifyEnv, tmp_path: Path
) -> None:
    await env.link(ANN)
    assert not env.spotify.calls("/v1/audio-features")
    async with spotify_env(tmp_path / "legacy", legacy=True) as legacy:
        legacy.recco.fail(times=1000)  # ReccoBeats down: the legacy endpoint fills in
        await legacy.link(ANN)
        calls = legacy.spotify.calls("/v1/audio-features")
        assert calls and all(len(q["ids"].split(",")) <= 100 for _, _, q in calls)
        sources = legacy.storage.tracks.feature_sources(legacy.world.in_reccobeats)
        assert set(sources.values()) == {"spotify_legacy"}


async def test_long_reads_report_progress_in_the_chat(tmp_path: Path) -> None:
    async with spotify_env(tmp_path, saved=400) as env:
        env.library.reader.progress_every = 0.0
        env.library.reader.chain.progress_every = 0.0
        env.spotify.latency = 0.01
        await env.link(ANN)
        assert any(n.startswith("Read ") and "of 400 saved tracks" in n for n in env.notes)
        assert any(n.startswith("Audio features: asked reccobeats") for n in env.notes)
        assert any("distinct tracks from Spotify" in n for n in env.notes)


async def test_features_are_looked_up_while_the_library_is_still_being_read(
    tmp_path: Path,
) -> None:
    async with spotify_env(tmp_path, saved=2400) as env:  # pages for several rounds of requests
        env.spotify.latency = 0.02
        released: list[float] = []

        async def hold_the_last_page(request: web.Request) -> None:
            """The last saved page waits (up to 20 s) for the first ReccoBeats lookup."""
            if request.path == "/v1/me/tracks" and int(request.query.get("offset", 0)) >= 2350:
                deadline = time.monotonic() + 20
                while not env.recco.timeline and time.monotonic() < deadline:
                    await asyncio.sleep(0.01)
                released.append(time.monotonic())

        env.spotify.hold = hold_the_last_page
        await env.link(ANN)
        assert released and env.recco.timeline[0] < released[0]  # not read first, then looked up
        assert max(Counter(env.recco.asked).values()) == 1  # a track in two lists: asked once
        assert all(len(ids) <= 40 for ids in env.recco.requests)
        world = env.world
        sources = env.storage.tracks.feature_sources(world.library_ids)
        assert {sources[t] for t in world.in_reccobeats} == {"reccobeats"}
        total = len(world.library_ids)
        found = total - len(world.unknown)
        assert any(
            f"Audio features for {found} of {total} tracks ({len(world.in_catalog)} already "
            f"known, {len(world.in_reccobeats)} from reccobeats)" in n
            for n in env.notes
        ), env.notes


async def test_a_read_that_fails_midway_stops_its_feature_lookups(tmp_path: Path) -> None:
    async with spotify_env(tmp_path, saved=2400) as env:
        # Lookups queue up behind ReccoBeats, and the pages come slowly enough that many are still
        # to come when the first lookup starts, however busy the machine is.
        env.spotify.latency, env.recco.latency = 0.4, 0.3
        landed = await env.authorize(await env.say(ANN, "/link spotify"))

        async def spotify_breaks_once_lookups_begin() -> None:
            while not env.recco.requests:
                await asyncio.sleep(0.005)
            env.spotify.fail(times=10_000, status=500)

        breaking = asyncio.ensure_future(spotify_breaks_once_lookups_begin())
        await env.say(ANN, landed)
        await env.synced(ANN)
        await breaking
        assert any("Reading your Spotify library stopped" in n for n in env.notes), env.notes
        await asyncio.sleep(0.05)
        asked = len(env.recco.requests)
        await asyncio.sleep(0.4)
        assert len(env.recco.requests) == asked  # nothing keeps asking after the read failed


async def _a_day_later(env: SpotifyEnv, uid: int) -> None:
    """As if the library was last read two days ago."""
    env.storage.users.update_user_settings(uid, spotify_synced_at=time.time() - 2 * 86400)


async def test_an_old_library_read_is_refreshed_in_the_background_on_recommend(
    env: SpotifyEnv,
) -> None:
    await env.link(ANN)
    uid = await env.uid(ANN)
    assert not (await env.say(ANN, "/recommend 3")).error
    new = env.world.search_only[0]
    env.world.user.saved.insert(0, (new, "2026-11-30T10:00:00Z"))  # saved since
    version = env.storage.taste.taste_version(uid)
    await _a_day_later(env, uid)
    env.notes.clear()
    reply = await env.say(ANN, "/recommend 3")
    assert not reply.error and len(reply.tracks) == 3
    assert not any("Still reading" in n for n in env.notes)  # answered without waiting
    await env.synced(ANN)
    assert new in set(env.storage.taste.library(uid)["track_id"])
    assert env.storage.taste.taste_version(uid) > version  # the new track gets learned
    reads = len(env.spotify.calls("/v1/me/tracks"))
    await env.say(ANN, "/recommend 3")
    await env.synced(ANN)
    assert len(env.spotify.calls("/v1/me/tracks")) == reads  # read once a day, not per command


async def test_a_refresh_that_finds_nothing_new_keeps_the_model(env: SpotifyEnv) -> None:
    await env.link(ANN)
    uid = await env.uid(ANN)
    await env.say(ANN, "/recommend 3")
    await env.settle()
    version, trained = (
        env.storage.taste.taste_version(uid),
        env.storage.taste.model_record(uid, "taste"),
    )
    await _a_day_later(env, uid)
    reads = len(env.spotify.calls("/v1/me/tracks"))
    await env.say(ANN, "/recommend 3")
    await env.synced(ANN)
    await env.settle()
    assert len(env.spotify.calls("/v1/me/tracks")) > reads  # it was read again
    assert env.storage.taste.taste_version(uid) == version
    assert env.storage.taste.model_record(uid, "taste")["trained_at"] == trained["trained_at"]
