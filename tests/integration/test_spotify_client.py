"""The Spotify adapter's manners against the fake Spotify: 2026 limits, Retry-After (capped),
5xx retries, timeouts, malformed JSON, QUOTA_EXCEEDED, token refresh and rotation, invalid_grant."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import spotipy
from spotipy.exceptions import SpotifyException

from bot.core.errors import NeedsLink, ServiceBusy
from bot.sources.backoff import MalformedResponse
from bot.sources.spotify import SpotifyAccountClient
from bot.sources.spotify_auth import UserTokens
from bot.sources.spotify_parse import parse_entry, parse_page, parse_playlist
from storage.spotify_cache import PROVIDER
from tests.integration.spotify_env import ANN, SpotifyEnv, spotify_env


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[SpotifyEnv]:
    async with spotify_env(tmp_path, max_backoff=3.0, timeout=0.5) as e:
        await e.link(ANN, wait=False)
        await e.synced(ANN)
        yield e


async def account(env: SpotifyEnv) -> SpotifyAccountClient:
    return await env.gateway.account(await env.uid(ANN))


async def raw(env: SpotifyEnv) -> spotipy.Spotify:
    """The user's real spotipy client, to call what beatmatch itself never calls."""
    return (await account(env)).sp


async def test_the_fake_enforces_the_2026_limits_on_plain_spotipy(env: SpotifyEnv) -> None:
    sp = await raw(env)
    track = env.world.in_catalog[0]
    calls = {
        "search limit 11": (lambda: sp.search("a*", limit=11, type="track"), 400),
        "search offset 1001": (lambda: sp.search("a*", limit=10, offset=1001), 400),
        "batch tracks": (lambda: sp.tracks([track, track]), 403),
        "audio features": (lambda: sp._get("audio-features", ids=track), 403),
        "playlist tracks": (
            lambda: sp._get(f"playlists/{env.world.followed_playlist}/tracks"),
            403,
        ),
        "users playlists": (
            lambda: sp._post("users/ann.spotify/playlists", payload={"name": "x"}),
            403,
        ),
        "recommendations": (lambda: sp._get("recommendations", seed_tracks=track), 404),
    }
    for name, (call, status) in calls.items():
        with pytest.raises(SpotifyException) as caught:
            await asyncio.to_thread(call)
        assert caught.value.http_status == status, name
    assert (await asyncio.to_thread(sp.search, "a*", limit=10, type="track"))["tracks"]["items"]
    assert (await asyncio.to_thread(sp.track, track))["id"] == track


async def test_search_is_clamped_to_ten_and_one_thousand(env: SpotifyEnv) -> None:
    tracks = await (await account(env)).search_tracks("b*", offset=5000, limit=50)
    assert len(tracks) == 10
    *_, query = env.spotify.calls("/v1/search")[-1]
    assert query["limit"] == "10" and query["offset"] == "1000"


async def test_items_of_playlists_the_user_only_follows_are_refused(env: SpotifyEnv) -> None:
    with pytest.raises(Exception, match="403"):
        await (await account(env)).playlist_items(env.world.followed_playlist, 0, 50)


async def test_retry_after_within_the_budget_is_waited_out(env: SpotifyEnv) -> None:
    env.spotify.throttle(times=2, retry_after=0.2)
    started = time.monotonic()
    me = await (await account(env)).profile()
    assert me.user_id == "ann.spotify"
    assert 0.35 <= time.monotonic() - started < 2.5


async def test_retry_after_beyond_the_budget_says_busy_at_once(env: SpotifyEnv) -> None:
    env.spotify.throttle(times=1, retry_after=3600)
    started = time.monotonic()
    with pytest.raises(ServiceBusy, match="about 60 minutes"):
        await (await account(env)).profile()
    assert time.monotonic() - started < 1.0
    with pytest.raises(ServiceBusy):  # the gate holds every later call back too
        await (await account(env)).profile()


async def test_quota_exceeded_is_logged_for_the_operator(
    env: SpotifyEnv, caplog: pytest.LogCaptureFixture
) -> None:
    env.spotify.throttle(times=1, retry_after=86400, reason="QUOTA_EXCEEDED")
    with caplog.at_level(logging.ERROR), pytest.raises(ServiceBusy, match="hours"):
        await (await account(env)).profile()
    assert any("QUOTA_EXCEEDED" in r.getMessage() for r in caplog.records)


async def test_server_errors_are_retried(env: SpotifyEnv) -> None:
    env.spotify.fail(times=2, status=502)
    assert (await (await account(env)).profile()).display_name == "Ann Listener"
    env.spotify.fail(times=10, status=503)
    with pytest.raises(ServiceBusy, match="503"):
        await (await account(env)).profile()


async def test_a_playlist_post_is_not_resent_after_a_server_error(env: SpotifyEnv) -> None:
    before = len(env.spotify.calls("/v1/me/playlists"))
    env.spotify.fail(times=1, status=500)
    with pytest.raises(ServiceBusy):
        await (await account(env)).create_playlist("x", "", False)
    assert len(env.spotify.calls("/v1/me/playlists")) == before + 1


async def test_malformed_json_is_a_clear_error(env: SpotifyEnv) -> None:
    env.spotify.garble(times=1)
    with pytest.raises(MalformedResponse, match="malformed JSON"):
        await (await account(env)).saved_tracks(0, 50)


async def test_a_slow_spotify_times_out_as_busy(env: SpotifyEnv) -> None:
    env.spotify.latency = 0.8  # the client's timeout is 0.5 s, its budget 3 s
    started = time.monotonic()
    with pytest.raises(ServiceBusy, match="didn't answer"):
        await (await account(env)).profile()
    assert time.monotonic() - started < 4.5


async def test_expiring_tokens_are_refreshed_once_and_rotations_stored(env: SpotifyEnv) -> None:
    uid = await env.uid(ANN)
    before = env.vault.load(uid, PROVIDER)
    assert before is not None
    env.spotify.expire_access_tokens()
    env.vault.update(uid, PROVIDER, dict(before, expires_at=0))
    client = await account(env)
    grants = env.spotify.grants.count("refresh_token")
    await asyncio.gather(*(client.saved_tracks(o, 50) for o in range(0, 300, 50)))
    assert env.spotify.grants.count("refresh_token") == grants + 1  # one refresh for 6 calls
    after = env.vault.load(uid, PROVIDER)
    assert after is not None
    assert after["refresh_token"] != before["refresh_token"]  # rotated, and stored at once
    assert isinstance(client.tokens, UserTokens) and client.tokens.refreshes == 1
    assert after["access_token"] != before["access_token"]


async def test_invalid_grant_asks_to_link_again_and_drops_the_tokens(env: SpotifyEnv) -> None:
    uid = await env.uid(ANN)
    client = await account(env)
    env.spotify.revoke_all()
    env.spotify.expire_access_tokens()
    token = env.vault.load(uid, PROVIDER)
    assert token is not None
    env.vault.update(uid, PROVIDER, dict(token, expires_at=0))
    with pytest.raises(NeedsLink, match="/link spotify"):
        await client.profile()
    assert env.vault.load(uid, PROVIDER) is None
    reply = await env.say(ANN, "/playlist")
    assert reply.error and "/link spotify" in reply.text


def test_both_envelopes_are_read() -> None:
    track = {"id": "a" * 22, "type": "track", "name": "Song", "artists": [{"name": "X"}]}
    new = parse_page(
        {"items": [{"added_at": "2026-01-01T00:00:00Z", "item": track}], "total": 1}, parse_entry
    )
    old = parse_page({"items": [{"added_at": None, "track": track}], "total": 1}, parse_entry)
    assert new.items[0].track_id == old.items[0].track_id == "a" * 22
    assert new.items[0].added_at == "2026-01-01T00:00:00Z"
    playlist = {"id": "p1", "owner": {"id": "me"}, "items": {"href": "h", "total": 7}}
    legacy_playlist = {"id": "p2", "owner": {"id": "me"}, "tracks": {"href": "h", "total": 3}}
    parsed, legacy = parse_playlist(playlist), parse_playlist(legacy_playlist)
    assert parsed is not None and legacy is not None
    assert (parsed.total, legacy.total) == (7, 3)


def test_local_files_episodes_and_removed_tracks_are_skipped() -> None:
    entries = [
        {"item": {"id": None, "is_local": True, "type": "track", "name": "local"}},
        {"item": {"id": "e" * 22, "type": "episode", "name": "podcast"}},
        {"item": None},
        {"is_local": True, "track": {"id": "b" * 22}},
        {"item": {"id": "c" * 22, "type": "track", "name": "ok", "artists": []}},
    ]
    page = parse_page({"items": entries, "total": 5}, parse_entry)
    assert [t.track_id for t in page.items] == ["c" * 22] and page.total == 5
    with pytest.raises(MalformedResponse):
        parse_page({"items": "nope"}, parse_entry)


async def test_a_forgotten_user_leaves_no_usable_client_behind(env: SpotifyEnv) -> None:
    client = await account(env)
    await env.say(ANN, "/forget yes")
    with pytest.raises(NeedsLink):
        await client.profile()
