"""/readyz follows the Discord front's gateway: not ready until discord.py's client says READY,
not ready again after it reports the connection dropped, ready once the session resumes. The
events go through discord.py's own dispatch (the path its gateway takes), over the real core and
web server. (A fake gateway on loopback would drive them from the wire; see the report.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.app import Beatmatch
from bot.chat.discord import DiscordFront
from bot.config import load_config
from bot.core.catalog import demo_state
from bot.web import bound_port, start_web
from tests.rig import make_app, settle


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Beatmatch]:
    beatmatch = make_app(tmp_path, demo_state(200))
    yield beatmatch
    await settle(beatmatch)
    await beatmatch.shutdown()


async def _discord_check(base: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as client, client.get(f"{base}/readyz") as response:
        return response.status, (await response.json())["checks"]["discord"]


async def test_discord_gateway_state_drives_readiness(app: Beatmatch) -> None:
    config = load_config(env={"BEATMATCH_DISCORD_TOKEN": "not-used-here"})
    front = DiscordFront(config.discord, app.service)
    runner: web.AppRunner = await start_web(app.service, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{bound_port(runner)}"
    try:
        await front.bot.__aenter__()  # what ``bot.start`` does first: the client gets its loop
        status, check = await _discord_check(base)
        assert status == 503 and check == {"ok": False, "detail": "starting"}
        for event, ok, detail in [
            ("ready", True, "gateway ready"),
            ("disconnect", False, "gateway disconnected"),
            ("resumed", True, "gateway resumed"),
        ]:
            front.bot.dispatch(event)
            await asyncio.sleep(0)  # discord.py runs each listener as a task
            await asyncio.sleep(0)
            status, check = await _discord_check(base)
            assert (status, check) == (200 if ok else 503, {"ok": ok, "detail": detail})
    finally:
        await runner.cleanup()
        await front.bot.close()
