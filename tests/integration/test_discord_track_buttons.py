"""Every track the bot announces in a Discord DM comes with its 👍/👎 buttons: workout status
messages and the weekly digest, sent through the real discord.py client to the fake Discord, and
a press on one stores the feedback."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import Beatmatch
from bot.chat.discord import BeatmatchBot
from bot.chat.push import PushRouter
from bot.core.replies import ChatUser
from tests.fakes.fake_discord_http import Call, FakeDiscord, custom_ids
from tests.integration.discord_button_rig import logged_in, point_at
from tests.integration.telegram_rig import heart_script, make_core
from tests.rig import settle

OWNER = 4242
TRACK_URL = re.compile(r"https://open\.spotify\.com/track/([A-Za-z0-9]{22})")


@pytest.fixture(scope="module")
def genre_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("genre-models")


@pytest.fixture
async def app(tmp_path: Path, genre_dir: Path) -> AsyncIterator[Beatmatch]:
    core = make_core(tmp_path, genre_dir, heart=heart_script((90.0, 40), (150.0, 80)))
    yield core
    await settle(core)
    await core.shutdown()


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    server = await FakeDiscord().start()
    point_at(monkeypatch, server)
    yield server
    await server.close()


def _dm(call: Call) -> bool:
    return call.method == "POST" and call.path.startswith("/channels/")


def _tracks_and_buttons(call: Call) -> tuple[list[str], list[str]]:
    description = str(call.body["embeds"][0].get("description"))
    ids = TRACK_URL.findall(description)
    return ids, custom_ids(call.body)


def _delivering(app: Beatmatch, bot: BeatmatchBot) -> None:
    router = PushRouter(app.service.users)
    router.add(bot)
    app.outbox.connect(router)


async def test_a_workout_status_dm_has_buttons_for_its_tracks(
    app: Beatmatch, fake: FakeDiscord
) -> None:
    async with logged_in(app, fake) as bot:
        _delivering(app, bot)
        fake.command(bot, "workout", OWNER, "start")
        [status] = await fake.wait_for(lambda c: _dm(c) and "First reading" in str(c.body))
        ids, buttons = _tracks_and_buttons(status)
        assert len(ids) == 3
        assert buttons == [f"bm:fb:{a}:{t}" for t in ids for a in ("like", "dislike")]
        mark = len(fake.calls)
        fake.press(bot, status_message(fake, ids[0]), f"bm:fb:like:{ids[0]}", OWNER)
        [told] = await fake.wait_for(lambda c: c.path.startswith("/interactions/"), since=mark)
        assert "Noted: you liked" in told.data["content"]
        fake.command(bot, "workout", OWNER, "stop")
        await fake.wait_for(lambda c: "Workout summary" in str(c.body))
    uid = await app.service.users.uid(ChatUser("discord", str(OWNER)))
    assert app.storage.taste.feedback(uid) == {ids[0]: 1}


def status_message(fake: FakeDiscord, track_id: str) -> dict[str, object]:
    """The message holding ``track_id``'s like button."""
    return next(m for m in fake.messages.values() if f"bm:fb:like:{track_id}" in custom_ids(m))


async def test_the_digest_dm_has_buttons_for_its_tracks(app: Beatmatch, fake: FakeDiscord) -> None:
    uid = await app.service.users.uid(ChatUser("discord", str(OWNER)))
    digest = await asyncio.to_thread(app.digest.reply, uid)
    async with logged_in(app, fake) as bot:
        await bot.push(str(OWNER), digest)
    [sent] = [c for c in fake.calls if _dm(c)]
    ids, buttons = _tracks_and_buttons(sent)
    assert len(ids) == 10
    assert buttons == [f"bm:fb:{a}:{t}" for t in ids for a in ("like", "dislike")]
