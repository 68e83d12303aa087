"""The aiohttp web server with the real aiohttp client: /healthz, the callback routes and pages, and
access logs that never carry a query string."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bot.core.catalog import demo_state
from bot.web import bound_port, start_web
from tests.rig import make_app, settle


@pytest.fixture
async def base(tmp_path: Path) -> AsyncIterator[str]:
    """The core without Spotify or Pulsoid configured, served on a free loopback port."""
    app = make_app(tmp_path, demo_state(200))
    runner: web.AppRunner = await start_web(app.service, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{bound_port(runner)}"
    finally:
        await runner.cleanup()
        await settle(app)
        await app.shutdown()


async def test_healthz_answers_with_numbers(base: str) -> None:
    async with aiohttp.ClientSession() as client, client.get(f"{base}/healthz") as response:
        body = await response.json()
    assert response.status == 200
    assert body["ok"] is True and body["catalog_tracks"] == 200 and body["demo"] is True


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/callback/spotify?code=abc&state=n.s", 400, "set up on this bot"),
        ("/callback?code=abc&state=n.s", 400, "set up on this bot"),
        # Pulsoid accounts are always wired (a pasted token needs no OAuth client), so a state
        # this bot never issued gets the expired-link page, as the product's did before; "not set
        # up" came from a hand-built service without them, which the composition root never makes.
        # Nothing linked is a 400 page, as Spotify's callback answers.
        ("/callback/pulsoid?code=abc&state=n.s", 400, "not valid any more"),
        ("/callback/pulsoid?error=access_denied&state=n.s", 400, "linking was cancelled"),
        ("/callback/myspace?code=abc&state=n.s", 404, "no such link"),
    ],
)
async def test_callback_pages(base: str, path: str, status: int, words: str) -> None:
    async with aiohttp.ClientSession() as client, client.get(base + path) as response:
        page = await response.text()
    assert response.status == status
    assert response.content_type == "text/html"
    assert words in page and "<!doctype html>" in page


async def test_access_log_has_paths_but_no_query_strings(
    base: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "code-SHOULD-NOT-BE-LOGGED"
    async with aiohttp.ClientSession() as client:
        async with client.get(f"{base}/callback/spotify?code={secret}&state=st-SECRET.x"):
            pass
        async with client.get(f"{base}/healthz?probe=1"):
            pass
    lines = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert any('"GET /callback/spotify" 400' in line for line in lines), lines
    assert any('"GET /healthz" 200' in line for line in lines)
    assert (
        secret not in caplog.text and "st-SECRET" not in caplog.text and "probe" not in caplog.text
    )
