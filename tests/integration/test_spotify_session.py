"""Issue 14, item 5: plain spotipy (public API only) on beatmatch's transport, against the fake
Spotify — the token is added by the session, a refused token is renewed once, errors name the path
without the query, and no token reaches any log, not even spotipy's DEBUG lines."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import spotipy
from spotipy.cache_handler import MemoryCacheHandler
from spotipy.exceptions import SpotifyException

from bot.sources.backoff import MalformedResponse, PoliteSession, RetryPolicy
from bot.sources.spotify_auth import SCOPES, SpotifyAuth, UserTokens
from bot.sources.spotify_session import AccessTokens, FixedToken, SpotifySession
from tests.fakes.fake_spotify import FakeSpotify
from tests.fakes.spotify_data import FakeUser, spotify_id, track_object

POLICY = RetryPolicy(timeout=5.0, max_wait=5.0, first_delay=0.01)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSpotify]:
    spotify = FakeSpotify()
    await spotify.start()
    spotify.add_user(FakeUser("ann.spotify", "Ann Listener"))
    yield spotify
    await spotify.stop()


def issued(fake: FakeSpotify) -> dict[str, Any]:
    """A token as the code exchange stores it (access, refresh, scope, expires_at)."""
    token = fake._issue("ann.spotify", " ".join(SCOPES))
    return dict(token, expires_at=int(time.time()) + 3600)


def plain_spotipy(fake: FakeSpotify, tokens: AccessTokens) -> spotipy.Spotify:
    """What the gateway builds: spotipy with our session and the fake's base URL."""
    session = SpotifySession(PoliteSession("Spotify", POLICY), tokens)
    client = spotipy.Spotify(requests_session=session, requests_timeout=POLICY.timeout)
    client.prefix = fake.api_base
    return client


def user_tokens(fake: FakeSpotify) -> UserTokens:
    auth = SpotifyAuth(
        fake.client_id, fake.client_secret, fake.accounts_base, http=PoliteSession("S", POLICY)
    )
    return UserTokens(auth, MemoryCacheHandler(issued(fake)))


async def test_a_refused_token_is_renewed_once_and_the_call_goes_through(
    fake: FakeSpotify,
) -> None:
    tokens = user_tokens(fake)
    sp = plain_spotipy(fake, tokens)
    fake.revoke_access_tokens()  # refused from now on, though not expired

    me = await asyncio.to_thread(sp.me)

    assert me["display_name"] == "Ann Listener"
    assert fake.grants == ["refresh_token"] and tokens.refreshes == 1
    assert [c[:2] for c in fake.calls()] == [("GET", "/v1/me/"), ("GET", "/v1/me/")]


async def test_a_token_that_cannot_be_renewed_is_a_401_after_one_more_try(
    fake: FakeSpotify,
) -> None:
    sp = plain_spotipy(fake, FixedToken(issued(fake)["access_token"]))
    fake.revoke_access_tokens()
    with pytest.raises(SpotifyException) as caught:
        await asyncio.to_thread(sp.me)
    assert caught.value.http_status == 401
    assert len(fake.calls()) == 2


async def test_errors_name_the_path_and_reason_and_nothing_logs_a_token(
    fake: FakeSpotify, caplog: pytest.LogCaptureFixture
) -> None:
    token = issued(fake)["access_token"]
    sp = plain_spotipy(fake, FixedToken(token))
    with caplog.at_level(logging.DEBUG), pytest.raises(SpotifyException) as caught:
        await asyncio.to_thread(sp.search, "my secret words", limit=11, type="track")
    assert caught.value.http_status == 400
    assert caught.value.msg == "GET /v1/search: Invalid limit"  # the query stays out
    with caplog.at_level(logging.DEBUG), pytest.raises(SpotifyException) as queued:
        await asyncio.to_thread(sp.add_to_queue, "spotify:track:" + "a" * 22)
    assert queued.value.http_status == 403  # this token may not control the player
    assert caplog.records  # spotipy did log at DEBUG
    assert not any(token in r.getMessage() for r in caplog.records)


async def test_a_body_that_is_not_json_is_a_clear_error(fake: FakeSpotify) -> None:
    sp = plain_spotipy(fake, FixedToken(issued(fake)["access_token"]))
    fake.garble(times=1)
    with pytest.raises(MalformedResponse, match="malformed JSON"):
        await asyncio.to_thread(sp.current_user_saved_tracks, limit=50)


async def test_playlists_are_made_and_filled_through_public_methods(fake: FakeSpotify) -> None:
    sp = plain_spotipy(fake, FixedToken(issued(fake)["access_token"]))
    ids = [spotify_id(f"run-{i}") for i in range(3)]
    for i, track_id in enumerate(ids):
        fake.catalog.add(track_object(track_id, f"Run Song {i}", ["Runner"]))
    made = await asyncio.to_thread(sp.current_user_playlist_create, "Run", public=False)
    await asyncio.to_thread(sp.playlist_add_items, made["id"], ids)
    playlist = fake.catalog.playlists[made["id"]]
    assert not playlist.public and [t for t, _ in playlist.items] == ids
