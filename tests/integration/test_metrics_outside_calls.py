"""/metrics counts the calls beatmatch makes to outside services, through the real clients against
the loopback fakes: Spotify (spotipy's transport and the accounts service) by status, a 429 and
the retry after its Retry-After; Pulsoid (aiohttp) by status, a refused token included."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.app import Beatmatch
from bot.core.dispatch import handle_text
from bot.web import bound_port, start_web
from storage.database import Storage
from tests.fakes.fake_pulsoid import FakePulsoid
from tests.fakes.pulsoid_rig import make_rig
from tests.integration.spotify_env import ANN, spotify_env

CALLS = "beatmatch_outside_calls_total"
RETRIES = "beatmatch_outside_retries_total"


async def scrape(app: Beatmatch) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample /metrics shows, read with the real aiohttp client and prometheus' parser."""
    runner = await start_web(app.service, "127.0.0.1", 0, **app.web_options())
    try:
        url = f"http://127.0.0.1:{bound_port(runner)}/metrics"
        async with aiohttp.ClientSession() as client, client.get(url) as response:
            assert response.status == 200
            text = await response.text()
    finally:
        await runner.cleanup()
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def calls(
    got: dict[tuple[str, tuple[tuple[str, str], ...]], float], service: str
) -> dict[str, float]:
    """Calls to ``service`` by status."""
    return {
        dict(labels)["status"]: value
        for (name, labels), value in got.items()
        if name == CALLS and dict(labels)["service"] == service
    }


async def test_spotify_calls_429s_and_retries_are_counted(tmp_path: Path) -> None:
    async with spotify_env(tmp_path, metrics=True) as env:
        await env.link(ANN)
        env.spotify.throttle(times=1, retry_after=0.05, path="/v1/me/playlists")
        reply = await env.say(ANN, "/recommend 5 playlist:yes")
        assert any(n.startswith("Spotify playlist:") for n in reply.notes), reply.notes
        got = await scrape(env.app)
    spotify = calls(got, "spotify")
    # The token exchange, /me and the library reads, the playlist creation and its items.
    assert spotify["200"] >= 3
    assert spotify["201"] >= 1
    assert spotify["429"] == 1  # the throttled playlist creation…
    assert got[(RETRIES, (("reason", "429"), ("service", "spotify")))] == 1  # …sent again
    # Every request the fake saw from the bot, once (the consent page is the browser's).
    from_bot = [r for r in env.spotify.requests if r[1] != "/authorize"]
    assert sum(spotify.values()) == len(from_bot)


@pytest.fixture
async def fake() -> AsyncIterator[FakePulsoid]:
    server = FakePulsoid()
    await server.start()
    yield server
    await server.close()


async def test_pulsoid_calls_are_counted_by_status(
    fake: FakePulsoid, storage: Storage, tmp_path: Path
) -> None:
    rig = make_rig(fake, storage, tmp_path, metrics=True)
    try:
        user = rig.chat_user()
        good = fake.issue_token()
        reply = await handle_text(rig.service, user, f"/link pulsoid {good}")
        assert not reply.error, reply.text
        stale = fake.issue_token("profile-2")
        fake.revoke_token(stale)
        refused = await handle_text(rig.service, user, f"/link pulsoid {stale}")
        assert refused.error
        got = await scrape(rig.app)
    finally:
        await rig.close()
    assert calls(got, "pulsoid") == {"200": 1, "401": 1}  # one validation each
