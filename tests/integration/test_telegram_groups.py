"""Telegram in groups, where several bots read the same commands: other bots' commands are passed
over in silence, commands addressed to this bot by its username (learnt from getMe) are answered —
through the real python-telegram-bot Application against the fake Bot API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes.fake_telegram import BOT_USERNAME, message
from tests.integration.telegram_rig import TelegramRig, start_rig, stop_rig

ANN, GROUP = 1001, -7007
IN_GROUP = {"chat_id": GROUP, "kind": "group"}


@pytest.fixture
async def rig(tmp_path: Path, genre_dir: Path) -> AsyncIterator[TelegramRig]:
    started = await start_rig(tmp_path, genre_dir)
    yield started
    await stop_rig(started)


async def test_other_bots_commands_in_a_group_get_no_answer(rig: TelegramRig) -> None:
    mark = len(rig.fake.calls)
    ignored = ["/recommend@OtherBot 5", "/ban", "/ban@OtherBot 123", "/help@GroupHelpBot", "/quit"]
    for number, text in enumerate(ignored, start=1):
        await rig.fake.send_update(message(text, message_id=number, **IN_GROUP))
    # Then a command for beatmatch, by its username in any case (privacy mode delivers these).
    await rig.fake.send_update(message("/help@BeatMatch_Test_Bot", message_id=99, **IN_GROUP))
    answer = await rig.fake.wait_for("sendMessage", lambda c: "Commands" in c.text, after=mark)
    assert answer.params["chat_id"] == GROUP
    assert answer.params["reply_parameters"]["message_id"] == 99
    assert "In a group, add my username to a command" in answer.text  # /help says how
    said = [c for c in rig.fake.calls[mark:] if c.method.startswith("send")]
    assert [c.method for c in said] == ["sendChatAction", "sendMessage"]  # only for /help@us
    assert not any("don't know" in c.text for c in rig.fake.calls)


async def test_a_command_addressed_to_this_bot_works_in_a_group(rig: TelegramRig) -> None:
    track_id = str(rig.service.catalog.tracks.index[0])
    name = str(rig.service.catalog.tracks.loc[track_id, "name"])
    answer = await rig.reply_to(f"/genre@{BOT_USERNAME} {track_id}", name, message_id=5, **IN_GROUP)
    assert answer.params["chat_id"] == GROUP
    assert answer.params["reply_parameters"]["message_id"] == 5
    assert "Genre" in answer.text or "genre" in answer.text
    await rig.settle()


async def test_unknown_commands_addressed_to_this_bot_or_in_private_get_the_helpful_answer(
    rig: TelegramRig,
) -> None:
    named = await rig.reply_to(f"/ban@{BOT_USERNAME}", "don't know", **IN_GROUP)
    assert named.params["chat_id"] == GROUP and "/help" in named.text
    private = await rig.reply_to("/ban", "don't know")
    assert private.params["chat_id"] == ANN and "I don't know /ban" in private.text


async def test_another_bots_command_in_a_private_chat_is_not_ours_either(rig: TelegramRig) -> None:
    mark = await rig.say("/ban@OtherBot 123")
    await rig.reply_to("/help", "Commands")
    await rig.reply_to("/help", "Commands")  # two round trips after it: the ignored one is done
    said = [c.text for c in rig.fake.calls[mark:] if c.method == "sendMessage"]
    assert len(said) == 2 and all("Commands" in text for text in said)
