"""/forget on Discord asks with two persistent buttons: only the asker can answer, Yes erases
through the same core path as ``/forget yes`` (also when a new bot process gets the press), Cancel
erases nothing; either answer takes the buttons off the question. Through the real discord.py
client against the fake Discord."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import Beatmatch
from bot.core.replies import ChatUser
from tests.fakes.fake_discord_http import FakeDiscord, custom_ids
from tests.integration.discord_button_rig import logged_in, point_at, with_buttons
from tests.integration.telegram_rig import library_csv, make_core
from tests.rig import settle

OWNER, OTHER = 4242, 5151


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
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    server = await FakeDiscord().start()
    point_at(monkeypatch, server)
    yield server
    await server.close()


async def _library_rows(app: Beatmatch, tmp_path: Path) -> int:
    user = ChatUser("discord", str(OWNER))
    data = library_csv(app.service, tmp_path / "liked.csv")
    await app.service.taste.import_library(user, data=data)
    await settle(app)
    uid = await app.service.users.uid(user)
    return app.storage.users.user_row_counts(uid)["library"]


async def _asked(app: Beatmatch, fake: FakeDiscord) -> dict[str, object]:
    """/forget run by OWNER: the question message, with its two buttons."""
    async with logged_in(app, fake) as bot:
        fake.command(bot, "forget", OWNER)
        await fake.wait_for(lambda c: c.method == "PATCH" and bool(c.body.get("components")))
    [question] = with_buttons(fake, "bm:forget:")
    return question


async def test_yes_pressed_after_a_restart_erases_and_removes_the_buttons(
    app: Beatmatch, fake: FakeDiscord, tmp_path: Path
) -> None:
    assert await _library_rows(app, tmp_path) > 0
    question = await _asked(app, fake)
    assert custom_ids(question) == [f"bm:forget:yes:{OWNER}", f"bm:forget:no:{OWNER}"]
    assert "Nothing is erased until you confirm" in question["embeds"][0]["description"]
    assert "Yes, erase everything" in question["embeds"][0]["description"]

    async with logged_in(app, fake) as bot:  # a new process gets the press
        fake.press(bot, question, f"bm:forget:yes:{OWNER}", OWNER)
        [done] = await fake.wait_for(
            lambda c: c.method == "PATCH" and "Done: I erased" in str(c.body)
        )
    assert done.body["components"] == []
    assert question["components"] == []  # the question itself lost its buttons
    uid = await app.service.users.uid(ChatUser("discord", str(OWNER)))
    assert app.storage.users.user_row_counts(uid)["library"] == 0


async def test_someone_else_pressing_is_told_privately_and_nothing_is_erased(
    app: Beatmatch, fake: FakeDiscord, tmp_path: Path
) -> None:
    rows = await _library_rows(app, tmp_path)
    question = await _asked(app, fake)
    async with logged_in(app, fake) as bot:
        mark = len(fake.calls)
        fake.press(bot, question, f"bm:forget:yes:{OWNER}", OTHER)
        [told] = await fake.wait_for(lambda c: c.path.startswith("/interactions/"), since=mark)
    assert told.body["type"] == 4 and told.data["flags"] & 64  # a private message
    assert "not your button" in told.data["content"]
    assert custom_ids(question)  # the owner can still answer
    uid = await app.service.users.uid(ChatUser("discord", str(OWNER)))
    assert app.storage.users.user_row_counts(uid)["library"] == rows


async def test_cancel_erases_nothing_and_says_so(
    app: Beatmatch, fake: FakeDiscord, tmp_path: Path
) -> None:
    rows = await _library_rows(app, tmp_path)
    question = await _asked(app, fake)
    async with logged_in(app, fake) as bot:
        fake.press(bot, question, f"bm:forget:no:{OWNER}", OWNER)
        await fake.wait_for(lambda c: c.method == "PATCH" and "Cancelled" in str(c.body))
    assert question["components"] == []
    assert "Cancelled: nothing was erased." in question["embeds"][0]["description"]
    uid = await app.service.users.uid(ChatUser("discord", str(OWNER)))
    assert app.storage.users.user_row_counts(uid)["library"] == rows
