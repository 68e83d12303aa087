"""A Discord user whose privacy settings refuse direct messages (error 50007) is an expected
situation, not an incident: the message the core sends them (a workout update, a link
confirmation) costs one WARNING line without a traceback, and the bot goes on serving everyone
else. The real bot, router and core; only discord's User (and its ``send``) is a spec'd mock."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from unittest import mock

import discord
import pytest

from bot.app import Beatmatch
from bot.chat.discord import BeatmatchBot
from bot.chat.push import PushRouter
from bot.core.replies import ChatUser, Reply
from tests.integration.telegram_rig import make_core
from tests.rig import settle

REFUSING, WELCOMING = 777, 888


@pytest.fixture(scope="module")
def genre_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("genre-models")


@pytest.fixture
async def app(tmp_path: Path, genre_dir: Path) -> AsyncIterator[Beatmatch]:
    core = make_core(tmp_path, genre_dir)
    yield core
    await settle(core)
    await core.shutdown()


@pytest.fixture
async def bot(app: Beatmatch) -> BeatmatchBot:
    """The bot, connected to the core's outbox through the router, as the runner connects it."""
    router = PushRouter(app.service.users)
    beatmatch = BeatmatchBot(app.service, router)
    await beatmatch.load_features()
    router.add(beatmatch)
    app.outbox.connect(router)
    return beatmatch


def refused() -> discord.Forbidden:
    """What discord.py raises when Discord answers a DM with 403 / code 50007."""
    response = mock.MagicMock(status=403, reason="Forbidden")
    return discord.Forbidden(
        response, {"code": 50007, "message": "Cannot send messages to this user"}
    )


def discord_users(sends: dict[int, mock.AsyncMock]) -> Any:
    """``bot.get_user`` finds a spec'd discord.User whose ``send`` is the given mock."""

    def get_user(user_id: int) -> discord.User:
        user = mock.create_autospec(discord.User, instance=True)
        user.id = user_id
        user.send = sends[user_id]
        return user

    return get_user


async def test_a_refused_dm_is_one_warning_line_and_the_bot_goes_on(
    app: Beatmatch, bot: BeatmatchBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # Both used a command before (which is how the bot learns where to reach them).
    refusing = await app.service.users.seen(ChatUser("discord", str(REFUSING)))
    welcoming = await app.service.users.seen(ChatUser("discord", str(WELCOMING)))
    sends = {
        REFUSING: mock.AsyncMock(side_effect=refused()),
        WELCOMING: mock.AsyncMock(
            return_value=mock.create_autospec(discord.Message, instance=True)
        ),
    }
    with mock.patch.object(bot, "get_user", side_effect=discord_users(sends)):
        # A workout update to the listener who refuses DMs, as the workout manager sends it.
        await app.outbox.send(refusing, Reply(title="Workout", text="Zone 3"))
        await app.outbox.send(refusing, Reply(title="Workout", text="Zone 4"))  # not tried again
        await app.outbox.send(welcoming, Reply(title="Workout", text="Zone 2"))
    assert sends[REFUSING].await_count == 1
    assert sends[WELCOMING].await_count == 1  # everyone else still gets theirs

    loud = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not loud, [r.getMessage() for r in loud]
    assert not [r for r in caplog.records if r.exc_info or r.exc_text]  # no traceback anywhere
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    line = warning.getMessage()
    assert "\n" not in line
    assert f"user {refusing} was not delivered" in line
    assert "50007" in line and "Cannot send messages to this user" in line
