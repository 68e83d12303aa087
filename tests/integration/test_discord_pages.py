"""A long list on Discord is one message turned with page buttons, through the real discord.py
client against the fake Discord: ten tracks a page with their 👍/👎, Prev / "k of N" / Next;
pressing Next — also in a new bot process, and by someone else — edits the same message to the
next ten (UPDATE_MESSAGE); the last page's Next cannot be pressed; /forget erases the kept lists."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.core.replies import ChatUser
from tests.fakes.fake_discord import buttons, custom_ids
from tests.integration.discord_rig import DiscordRig, core_discord_rig
from tests.integration.telegram_rig import library_csv
from tests.rig import settle

ANN, BOB = 4242, 5151
GUILD = 880000000000000100
TRACK = re.compile(r"(\d+)\. .*\n<?https://open\.spotify\.com/track/([A-Za-z0-9]{22})")


@pytest.fixture
async def rig(tmp_path: Path, genre_dir: Path) -> AsyncIterator[DiscordRig]:
    async with core_discord_rig(tmp_path, genre_dir) as running:
        app = running.app
        data = library_csv(app.service, tmp_path / "liked.csv")
        await app.service.taste.import_library(ChatUser("discord", str(ANN)), data=data)
        await settle(app)
        yield running


def _shown(message: dict[str, Any]) -> list[tuple[int, str]]:
    """(number, track id) of each track the message shows."""
    return [(int(n), t) for n, t in TRACK.findall(message["embeds"][0]["description"])]


def _nav(message: dict[str, Any]) -> list[tuple[str, bool]]:
    """The page row: (label, pressable) of each page button."""
    return [
        (b["label"], not b.get("disabled", False))
        for b in buttons(message)
        if b["custom_id"].startswith("bm:pg:")
    ]


def _kept(rig: DiscordRig, key: str) -> list[str]:
    """The track ids of the list kept under ``key``, in order."""
    kept = rig.app.storage.shown_lists.get(key)
    assert kept is not None
    return [card["track_id"] for card in json.loads(kept)["tracks"]]


async def test_twenty_five_tracks_are_one_message_paged_by_ten_even_after_a_restart(
    rig: DiscordRig,
) -> None:
    count = [{"name": "count", "type": 4, "value": 25}]
    await rig.run("recommend", count, user_id=ANN, guild_id=GUILD)
    assert rig.fake.calls("POST", "/webhooks/") == []  # no follow-up messages
    [message] = rig.fake.with_buttons("bm:pg:")
    first = _shown(message)
    assert [n for n, _ in first] == list(range(1, 11))
    assert _nav(message) == [("◀ Prev", False), ("1 of 3", False), ("Next ▶", True)]
    key = custom_ids(message)[-1].split(":")[2]
    assert [t for _, t in first] == _kept(rig, key)[:10]
    likes = [c for c in custom_ids(message) if c.startswith("bm:fb:")]
    assert likes == [f"bm:fb:{a}:{t}" for a, t in _rows(first)]

    await rig.restart()  # a new bot process gets the press, from someone else
    pressed = await rig.press(message, f"bm:pg:{key}:1", user_id=BOB, guild_id=GUILD)
    assert pressed.body["type"] == 7  # UPDATE_MESSAGE: the same message, edited in place
    second = _shown(message)
    assert [n for n, _ in second] == list(range(11, 21))
    assert [t for _, t in second] == _kept(rig, key)[10:20]
    assert _nav(message) == [("◀ Prev", True), ("2 of 3", False), ("Next ▶", True)]

    await rig.press(message, f"bm:pg:{key}:2", user_id=ANN, guild_id=GUILD)
    assert [n for n, _ in _shown(message)] == list(range(21, 26))
    assert _nav(message) == [("◀ Prev", True), ("3 of 3", False), ("Next ▶", False)]
    assert len(rig.fake.with_buttons("bm:pg:")) == 1  # still the one message


def _rows(shown: list[tuple[int, str]]) -> list[tuple[str, str]]:
    """The feedback buttons in row order: 👍 of five tracks, then their 👎, and so on."""
    ids = [t for _, t in shown]
    return [
        (action, t)
        for group in range(0, len(ids), 5)
        for action in ("like", "dislike")
        for t in ids[group : group + 5]
    ]


async def test_forget_erases_the_kept_lists_and_their_pages_say_so(rig: DiscordRig) -> None:
    count = [{"name": "count", "type": 4, "value": 25}]
    await rig.run("recommend", count, user_id=ANN, guild_id=GUILD)
    [message] = rig.fake.with_buttons("bm:pg:")
    key = custom_ids(message)[-1].split(":")[2]
    uid = await rig.app.service.users.uid(ChatUser("discord", str(ANN)))
    assert rig.app.storage.users.user_row_counts(uid)["shown_lists"] == 1
    yes = [{"name": "confirm", "type": 3, "value": "yes"}]
    await rig.run("forget", yes, user_id=ANN, guild_id=GUILD)
    assert rig.app.storage.shown_lists.get(key) is None
    told = await rig.press(message, f"bm:pg:{key}:1", user_id=ANN, guild_id=GUILD)
    assert told.body["type"] == 4 and told.data["flags"] & 64
    assert "no longer kept" in told.data["content"]
    assert [n for n, _ in _shown(message)] == list(range(1, 11))  # the message is unchanged
