"""Linking Spotify end to end: the real spotipy/requests/aiohttp clients against the fake Spotify.

Covers the paste-back and web-callback round trips, replayed, expired, forged and someone else's
states, a denied consent, /unlink, and that no code, state or token reaches any log.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.app import build
from bot.config import Config, load_config
from bot.core.dispatch import handle_text
from bot.core.errors import NeedsLink
from bot.core.replies import ChatUser
from bot.web import bound_port, start_web
from storage.spotify_cache import PROVIDER
from tests.integration.spotify_env import ANN, BOB, FAST, SpotifyEnv, query_of, spotify_env
from tests.rig import settle


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[SpotifyEnv]:
    async with spotify_env(tmp_path) as e:
        yield e


async def test_link_sends_a_private_pkce_authorize_url(env: SpotifyEnv) -> None:
    reply = await env.say(ANN, "/link spotify")
    assert reply.private and not reply.error
    url = next(w for w in reply.text.split() if "authorize" in w)
    query = query_of(url)
    assert url.startswith(env.spotify.accounts_base + "authorize?")
    assert query["redirect_uri"] == "http://127.0.0.1:8888/callback"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert "user-top-read" in query["scope"] and "playlist-modify-private" in query["scope"]
    assert "localhost" not in url
    assert "127.0.0.1:8888/callback" in reply.text  # says where the browser will land


async def test_paste_back_links_and_names_the_account(env: SpotifyEnv) -> None:
    reply = await env.link(ANN)
    assert not reply.error, reply.text
    assert "Ann Listener (ann.spotify)" in reply.text
    uid = await env.uid(ANN)
    token = env.vault.load(uid, PROVIDER)
    assert token is not None and token["access_token"].startswith("acc-")
    row = env.storage.accounts.get_link(uid, PROVIDER)
    assert row is not None
    blob = row["token_blob"]
    assert token["access_token"].encode() not in blob  # encrypted at rest
    assert env.spotify.grants == ["authorization_code"]
    assert any("Learning your taste" in n for n in env.notes)


async def test_link_spotify_with_the_address_also_finishes(env: SpotifyEnv) -> None:
    landed = await env.authorize(await env.say(ANN, "/link spotify"))
    reply = await env.say(ANN, f"/link spotify {landed}")
    assert "Linked to the Spotify account" in reply.text
    await env.synced(ANN)


async def test_replayed_address_is_refused(env: SpotifyEnv) -> None:
    landed = await env.authorize(await env.say(ANN, "/link spotify"))
    assert not (await env.say(ANN, landed)).error
    await env.synced(ANN)
    again = await env.say(ANN, landed)
    assert again.error and "not valid any more" in again.text
    assert env.spotify.grants == ["authorization_code"]  # the code was never sent twice


async def test_expired_state_is_refused(env: SpotifyEnv) -> None:
    landed = await env.authorize(await env.say(ANN, "/link spotify"))
    env.storage.sql.db.execute("update oauth_states set expires_at = 0")
    reply = await env.say(ANN, landed)
    assert reply.error and "expired" in reply.text
    assert env.spotify.grants == []


async def test_forged_state_is_refused(env: SpotifyEnv) -> None:
    landed = await env.authorize(await env.say(ANN, "/link spotify"))
    state = query_of(landed)["state"]
    nonce, _, signature = state.partition(".")
    forged = landed.replace(state, f"{nonce}.{'A' * len(signature)}")
    assert (await env.say(ANN, forged)).error
    invented = landed.replace(state, "madeupnonce.c2lnbmF0dXJl")
    assert (await env.say(ANN, invented)).error
    assert env.spotify.grants == []
    assert not (await env.say(ANN, landed)).error  # the genuine one still works, once
    await env.synced(ANN)


async def test_someone_elses_address_is_refused(env: SpotifyEnv) -> None:
    landed = await env.authorize(await env.say(ANN, "/link spotify"))
    reply = await env.say(BOB, landed)
    assert reply.error and "not yours" in reply.text
    assert env.vault.load(await env.uid(BOB), PROVIDER) is None
    assert env.vault.load(await env.uid(ANN), PROVIDER) is None


async def test_denied_consent_links_nothing(env: SpotifyEnv) -> None:
    env.spotify.deny = True
    landed = await env.authorize(await env.say(ANN, "/link spotify"))
    reply = await env.say(ANN, landed)
    assert reply.error and "cancelled" in reply.text
    assert env.vault.load(await env.uid(ANN), PROVIDER) is None


async def test_a_localhost_address_is_not_taken_for_a_callback(env: SpotifyEnv) -> None:
    reply = await env.say(ANN, "http://localhost:8888/callback?code=x&state=y")
    assert reply.error and "slash" in reply.text  # not a command, not a callback


async def test_unlink_deletes_the_tokens(env: SpotifyEnv) -> None:
    await env.link(ANN)
    reply = await env.say(ANN, "/unlink spotify")
    assert "tokens are deleted" in reply.text
    uid = await env.uid(ANN)
    assert env.storage.accounts.get_link(uid, PROVIDER) is None
    assert "No Spotify account" in (await env.say(ANN, "/unlink spotify")).text
    with pytest.raises(NeedsLink):
        await env.gateway.account(uid)


async def test_web_callback_links_the_user_of_the_state(tmp_path: Path) -> None:
    async with spotify_env(tmp_path, public_url="https://bot.example.org") as env:
        pushed: list[tuple[int, str]] = []

        async def push(uid: int, reply: object) -> None:
            pushed.append((uid, getattr(reply, "text", "")))

        env.app.outbox.connect(push)
        reply = await env.say(ANN, "/link spotify")
        assert (
            "https://bot.example.org/callback/spotify"
            in query_of(next(w for w in reply.text.split() if "authorize" in w))["redirect_uri"]
        )
        landed = await env.authorize(reply)
        runner = await start_web(env.service, "127.0.0.1", 0)
        try:
            local = landed.replace(
                "https://bot.example.org", f"http://127.0.0.1:{bound_port(runner)}"
            )
            async with aiohttp.ClientSession() as browser:
                async with browser.get(local) as page:
                    body = await page.text()
                    assert page.status == 200, body
                    assert "Ann Listener" in body and "close this tab" in body
                async with browser.get(local) as replay:
                    assert replay.status == 400
                    assert "not valid any more" in await replay.text()
            await env.synced(ANN)
        finally:
            await runner.cleanup()
        uid = await env.uid(ANN)
        assert env.vault.load(uid, PROVIDER) is not None
        assert any(u == uid and "Linked to the Spotify account" in t for u, t in pushed)


async def test_no_code_state_or_token_in_any_log(
    env: SpotifyEnv, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    env.spotify.expires_in = 30  # every call refreshes (margin 60 s): refresh tokens rotate
    reply = await env.say(ANN, "/link spotify")
    landed = await env.authorize(reply)
    await env.say(ANN, landed)
    await env.synced(ANN)
    await env.say(ANN, landed)  # a replay, refused
    uid = await env.uid(ANN)
    token = env.vault.load(uid, PROVIDER)
    assert token is not None and "refresh_token" in token
    assert "refresh_token" in env.spotify.grants
    secrets = [
        query_of(landed)["code"],
        query_of(landed)["state"],
        query_of(landed)["state"].partition(".")[0],
        token["access_token"],
        token["refresh_token"],
        env.spotify.client_secret,
    ]
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert caplog.records, "nothing was logged at all"
    for secret in secrets:
        assert secret not in logged
    assert "code=" not in logged and "access_token" not in logged


async def test_the_built_app_links_spotify_from_the_console(tmp_path: Path) -> None:
    """``bot.app.build`` wires Spotify when a client id is set; the console pastes back."""
    async with spotify_env(tmp_path / "fakes") as env:
        config = load_config(
            env={
                "BEATMATCH_STORAGE_DATA_DIR": str(tmp_path / "app"),
                "BEATMATCH_CATALOG_DEMO_SIZE": "300",
                "BEATMATCH_SPOTIFY_CLIENT_ID": env.spotify.client_id,
                "BEATMATCH_SPOTIFY_CLIENT_SECRET": env.spotify.client_secret,
                "BEATMATCH_SPOTIFY_API_BASE": env.spotify.api_base,
                "BEATMATCH_SPOTIFY_ACCOUNTS_BASE": env.spotify.accounts_base,
                "BEATMATCH_RECCOBEATS_API_BASE": env.recco.api_base,
            }
        )
        app = await asyncio.to_thread(build, config, show_progress=False, cooldown=0.0)
        app.service.taste.models.settings = FAST
        me = ChatUser("console", "operator", "you")
        try:
            assert app.spotify is not None  # wired from the client id alone
            shown = await handle_text(app.service, me, "/link spotify")
            assert shown.private and "http://127.0.0.1:8888/callback" in shown.text
            landed = await env.authorize(shown)
            reply = await handle_text(app.service, me, landed)
            assert "Ann Listener" in reply.text, reply.text
            uid = await app.service.users.uid(me)
            library = app.service.taste.library
            assert library is not None
            reading = library.reading(uid)
            assert reading is not None
            await reading
            assert app.storage.taste.library_size(uid) == len(env.world.library_ids)
        finally:
            await settle(app)
            await app.shutdown()  # also closes the Spotify gateway


async def test_without_a_client_id_linking_says_so(config: Config) -> None:
    app = await asyncio.to_thread(build, config, show_progress=False, cooldown=0.0)
    try:
        assert app.spotify is None and app.service.taste.library is None
        reply = await handle_text(app.service, ANN, "/link spotify")
        assert reply.error and "spotify.client_id" in reply.text
    finally:
        await app.shutdown()
