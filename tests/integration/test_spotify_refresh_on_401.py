"""Issue 12, item 11: an access token Spotify revoked before it expired (401) is renewed once and
the call sent again — one refresh for every call refused at the same time; only a refresh Spotify
refuses (``invalid_grant``) deletes the tokens, and then the user hears that access was revoked."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from storage.spotify_cache import PROVIDER
from tests.integration.spotify_env import ANN, SpotifyEnv, spotify_env


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[SpotifyEnv]:
    async with spotify_env(tmp_path) as e:
        await e.link(ANN)
        yield e


def token_posts(env: SpotifyEnv) -> int:
    """How many times the app called Spotify's token endpoint."""
    return sum(
        1 for method, path, _ in env.spotify.requests if (method, path) == ("POST", "/api/token")
    )


async def test_a_revoked_access_token_is_renewed_and_the_command_succeeds(env: SpotifyEnv) -> None:
    uid = await env.uid(ANN)
    before = env.vault.load(uid, PROVIDER)
    assert before is not None
    posts = token_posts(env)
    env.spotify.revoke_access_tokens()  # refused from now on, though not expired

    reply = await env.say(ANN, "/recommend 20 playlist:yes")

    assert not reply.error, reply.text
    assert len(reply.tracks) == 20
    links = [n for n in reply.notes if n.startswith("Spotify playlist:")]
    assert len(links) == 1, reply.notes
    link = links[0]
    created = env.spotify.catalog.playlists[link.rsplit("/", 1)[1]]
    assert [t for t, _ in created.items] == [c.track_id for c in reply.tracks]
    assert token_posts(env) == posts + 1  # exactly one refresh
    after = env.vault.load(uid, PROVIDER)
    assert after is not None and after["access_token"] != before["access_token"]
    assert "You're linked as Ann Listener" in (await env.say(ANN, "/link spotify")).text


async def test_calls_refused_at_the_same_time_share_one_refresh(env: SpotifyEnv) -> None:
    client = await env.gateway.account(await env.uid(ANN))
    env.spotify.revoke_access_tokens()
    calls = 6
    arrived = 0
    everyone = asyncio.Event()

    async def hold(request: web.Request) -> None:
        """Hold the first ``calls`` API requests until all of them carry the revoked token."""
        nonlocal arrived
        if request.path.startswith("/v1/") and not everyone.is_set():
            arrived += 1
            if arrived >= calls:
                everyone.set()
            await everyone.wait()

    env.spotify.hold = hold
    grants = env.spotify.grants.count("refresh_token")
    read = len(env.spotify.calls("/v1/me/tracks"))  # by the library read after linking

    pages = await asyncio.gather(*(client.saved_tracks(o, 10) for o in range(0, 10 * calls, 10)))

    assert [t.track_id for page in pages for t in page.items] == [
        t for t, _ in env.world.user.saved
    ]
    assert env.spotify.grants.count("refresh_token") == grants + 1
    served = len(env.spotify.calls("/v1/me/tracks")) - read
    assert served == 2 * calls  # each refused once, then served


async def test_a_refused_refresh_deletes_the_tokens_and_says_access_was_revoked(
    env: SpotifyEnv,
) -> None:
    uid = await env.uid(ANN)
    env.spotify.revoke_access_tokens()
    env.spotify.revoke_all()  # the refresh token too: the user removed the app
    grants = env.spotify.grants.count("refresh_token")

    reply = await env.say(ANN, "/recommend 20 playlist:yes")

    assert not reply.error and len(reply.tracks) == 20  # the recommendations are still shown
    said = [n for n in reply.notes if "revoked" in n]
    assert len(said) == 1, reply.notes  # told once, not by every step that met it
    assert said[0].startswith("Couldn't make the Spotify playlist: Spotify access was revoked")
    assert "/link spotify" in said[0]
    assert not any("Link your Spotify account first" in n for n in reply.notes)
    assert env.spotify.grants.count("refresh_token") == grants + 1  # one attempt, not one a call
    assert env.vault.load(uid, PROVIDER) is None
    offer = await env.say(ANN, "/link spotify")
    assert "authorize?" in offer.text and "You're linked" not in offer.text
