"""/forget on Telegram asks first, with "Yes, erase everything" / "Cancel" buttons only the asker
may press — through the real python-telegram-bot Application against the fake Bot API. Nothing is
erased before Yes; the buttons hold all they need in their callback data, so they still work after
the front restarts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.replies import ChatUser
from tests.fakes.fake_telegram import BOT_USERNAME, Call, callback
from tests.integration.telegram_rig import TelegramRig, start_front, start_rig, stop_rig

ANN, BOB, GROUP = 1001, 1002, -7007
IN_GROUP = {"chat_id": GROUP, "kind": "group"}
QUESTION = "Nothing is erased until you confirm"


@pytest.fixture
async def rig(tmp_path: Path, genre_dir: Path) -> AsyncIterator[TelegramRig]:
    started = await start_rig(tmp_path, genre_dir)
    yield started
    await stop_rig(started)


async def digest_on(rig: TelegramRig) -> int:
    """Ann turns her weekly digest on (a setting /forget would erase); her user id."""
    await rig.reply_to("/digest on", "Weekly digest")
    uid = await rig.service.users.uid(ChatUser("telegram", str(ANN)))
    assert rig.app.storage.users.user_settings(uid)["digest"]["on"] is True
    return uid


def message_id(rig: TelegramRig, chat_id: int, contains: str) -> int:
    """The id of the bot's last message in ``chat_id`` whose text holds ``contains``."""
    return max(m for (c, m), text in rig.fake.messages.items() if c == chat_id and contains in text)


async def press(
    rig: TelegramRig,
    data: str,
    user_id: int,
    question: int,
    chat_id: int | None = None,
    kind: str = "private",
) -> Call:
    """Press the button with callback ``data`` under message ``question`` as ``user_id``; the
    answerCallbackQuery call."""
    mark = len(rig.fake.calls)
    update = callback(data, user_id=user_id, message_id=question, chat_id=chat_id, kind=kind)
    await rig.fake.send_update(update)
    return await rig.fake.wait_for("answerCallbackQuery", after=mark)


async def test_forget_asks_with_buttons_and_only_the_owner_can_answer(rig: TelegramRig) -> None:
    uid = await digest_on(rig)
    asked = await rig.reply_to(f"/forget@{BOT_USERNAME}", QUESTION, message_id=3, **IN_GROUP)
    assert asked.params["chat_id"] == GROUP
    assert "Yes, erase everything" in asked.text
    assert asked.callback_data == [f"fg:yes:{ANN}", f"fg:no:{ANN}"]
    labels = [b["text"] for row in asked.params["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == ["Yes, erase everything", "Cancel"]
    question = message_id(rig, GROUP, QUESTION)

    # Bob, in the same group, presses Ann's Yes: told in an alert, nothing erased, buttons kept.
    refused = await press(rig, f"fg:yes:{ANN}", BOB, question, GROUP, "group")
    assert refused.params["text"] == "This button is not yours."
    assert refused.params["show_alert"] is True
    assert not rig.fake.sent("editMessageReplyMarkup")
    assert rig.app.storage.users.user_settings(uid)["digest"]["on"] is True

    # Ann cancels: nothing erased, the question loses its buttons, the outcome is said.
    mark = len(rig.fake.calls)
    cancelled = await press(rig, f"fg:no:{ANN}", ANN, question, GROUP, "group")
    assert cancelled.params["text"] == "Cancelled: nothing was erased."
    edited = await rig.fake.wait_for("editMessageReplyMarkup", after=mark)
    assert (edited.params["chat_id"], edited.params["message_id"]) == (GROUP, question)
    assert not edited.params.get("reply_markup")  # the keyboard is gone
    said = await rig.fake.wait_for("sendMessage", lambda c: "Cancelled" in c.text, after=mark)
    assert said.params["chat_id"] == GROUP
    assert rig.app.storage.users.user_settings(uid)["digest"]["on"] is True

    # Asked again, Ann presses Yes: everything is erased, as with /forget yes.
    await rig.reply_to(f"/forget@{BOT_USERNAME}", QUESTION, message_id=4, **IN_GROUP)
    question = message_id(rig, GROUP, QUESTION)
    mark = len(rig.fake.calls)
    done = await press(rig, f"fg:yes:{ANN}", ANN, question, GROUP, "group")
    assert done.params["text"].startswith("Done: I erased everything")
    assert not done.params.get("show_alert")
    edited = await rig.fake.wait_for("editMessageReplyMarkup", after=mark)
    assert edited.params["message_id"] == question
    await rig.fake.wait_for("sendMessage", lambda c: "Done: I erased" in c.text, after=mark)
    assert rig.app.storage.users.user_settings(uid) == {}


async def test_the_buttons_still_work_after_the_front_restarts(rig: TelegramRig) -> None:
    uid = await digest_on(rig)
    await rig.reply_to("/forget", QUESTION)
    question = message_id(rig, ANN, QUESTION)
    await rig.front.stop()
    await rig.fake.stop()
    rig.fake, rig.front, rig.router = await start_front(rig.app)  # a new process's front
    rig.fake.messages[(ANN, question)] = "the question, as Telegram still has it"

    done = await press(rig, f"fg:yes:{ANN}", ANN, question)
    assert done.params["text"].startswith("Done: I erased everything")
    assert rig.app.storage.users.user_settings(uid) == {}
    await rig.fake.wait_for("editMessageReplyMarkup")
