"""The real discord.py client — beatmatch's ``BeatmatchBot`` — logged in against the fake Discord
(``tests/fakes/fake_discord_http.py``) over the real core: what a test presses and types goes through
discord.py's own connection state, view store and command tree, and every answer through its HTTP
client to the fake, where the test reads it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import discord
import pytest

from bot.app import Beatmatch
from bot.chat.discord import BeatmatchBot
from bot.chat.push import PushRouter
from tests.fakes.fake_discord_http import Call, FakeDiscord, custom_ids


@asynccontextmanager
async def logged_in(app: Beatmatch, fake: FakeDiscord) -> AsyncIterator[BeatmatchBot]:
    """A fresh bot process's client, logged in (``setup_hook`` ran: cogs and buttons registered);
    closed on exit — a restart is leaving one and entering another."""
    bot = BeatmatchBot(app.service, PushRouter(app.service.users))
    try:
        await bot.login("fake-token")
        yield bot
    finally:
        await bot.close()


def point_at(monkeypatch: pytest.MonkeyPatch, fake: FakeDiscord) -> None:
    """discord.py's HTTP client (and its webhooks) talk to ``fake`` for this test."""
    monkeypatch.setattr(discord.http.Route, "BASE", fake.api)


def with_buttons(fake: FakeDiscord, prefix: str) -> list[dict[str, Any]]:
    """The messages the bot sent whose buttons' custom_ids start with ``prefix``, oldest first."""
    return [m for m in fake.messages.values() if any(c.startswith(prefix) for c in custom_ids(m))]


def answers(call: Call) -> bool:
    """An interaction callback or an edit of the original response."""
    return call.path.startswith("/interactions/") or call.path.endswith("/messages/@original")
