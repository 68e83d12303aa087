"""/forget on Discord asks with two persistent buttons: only the asker can answer, Yes erases
through the same core path as ``/forget yes`` (also when a new bot process gets the press), Cancel
erases nothing; either answer takes the buttons off the question. Through the real discord.py
client against the fake Discord."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.core.replies import ChatUser
from tests.fakes.fake_discord import Request, custom_ids
from tests.integration.discord_rig import DiscordRig, core_discord_rig
from tests.integration.telegram_rig import library_csv
from tests.rig import settle

OWNER, OTHER = 4242, 5151
GUILD = 880000000000000100


@pytest.fixture
async def rig(tmp_path: Path, genre_dir: Path) -> AsyncIterator[DiscordRig]:
    async with core_discord_rig(tmp_path, genre_dir) as running:
        yield running


async def _library_rows(rig: DiscordRig, tmp_path: Path) -> int:
    user = ChatUser("discord", str(OWNER))
    data = library_csv(rig.app.service, tmp_path / "liked.csv")
    await rig.app.service.taste.import_library(user, data=data)
    await settle(rig.app)
    return await _rows(rig)


async def _rows(rig: DiscordRig) -> int:
    uid = await rig.app.service.users.uid(ChatUser("discord", str(OWNER)))
    return rig.app.storage.users.user_row_counts(uid)["library"]


async def _asked(rig: DiscordRig) -> dict[str, Any]:
    """/forget run by OWNER in a server: the question message, with its two buttons."""
    await rig.run("forget", user_id=OWNER, guild_id=GUILD)
    [question] = rig.fake.with_buttons("bm:forget:")
    return question


def _edited(text: str) -> Any:
    def found(requests: list[Request]) -> Request | None:
        return next((r for r in requests if r.method == "PATCH" and text in str(r.body)), None)

    return found


async def test_yes_pressed_after_a_restart_erases_and_removes_the_buttons(
    rig: DiscordRig, tmp_path: Path
) -> None:
    assert await _library_rows(rig, tmp_path) > 0
    question = await _asked(rig)
    assert custom_ids(question) == [f"bm:forget:yes:{OWNER}", f"bm:forget:no:{OWNER}"]
    assert "Nothing is erased until you confirm" in question["embeds"][0]["description"]
    assert "Yes, erase everything" in question["embeds"][0]["description"]

    await rig.restart()  # a new process gets the press
    await rig.press(question, f"bm:forget:yes:{OWNER}", user_id=OWNER, guild_id=GUILD)
    done: Request = await rig.fake.wait_for(_edited("Done: I erased"))
    assert done.body["components"] == []
    assert question["components"] == []  # the question itself lost its buttons
    assert await _rows(rig) == 0


async def test_someone_else_pressing_is_told_privately_and_nothing_is_erased(
    rig: DiscordRig, tmp_path: Path
) -> None:
    rows = await _library_rows(rig, tmp_path)
    question = await _asked(rig)
    told = await rig.press(question, f"bm:forget:yes:{OWNER}", user_id=OTHER, guild_id=GUILD)
    assert told.body["type"] == 4 and told.data["flags"] & 64  # a private message
    assert "not your button" in told.data["content"]
    assert custom_ids(question)  # the owner can still answer
    assert await _rows(rig) == rows


async def test_cancel_erases_nothing_and_says_so(rig: DiscordRig, tmp_path: Path) -> None:
    rows = await _library_rows(rig, tmp_path)
    question = await _asked(rig)
    await rig.press(question, f"bm:forget:no:{OWNER}", user_id=OWNER, guild_id=GUILD)
    await rig.fake.wait_for(_edited("Cancelled"))
    assert question["components"] == []
    assert "Cancelled: nothing was erased." in question["embeds"][0]["description"]
    assert await _rows(rig) == rows
