"""/blend and /privacy in a Telegram group, through the real python-telegram-bot Application
against the fake Bot API: the group's blend is for the members who allowed it there, a member
who has not consented is never scored and is asked once with a button only they may press, and
no message shows anyone's library."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.core.cards import track_card
from bot.core.replies import ChatUser
from tests.fakes.fake_telegram import BOT_USERNAME, Call, callback
from tests.integration.telegram_rig import TelegramRig, library_csv, start_rig, stop_rig

ANN, BOB, CAROL, GROUP = 1001, 1002, 1003, -7007
PEOPLE = {
    ANN: ("Ann", "ann", "acoustic"),
    BOB: ("Bob", "bob", "metal"),
    CAROL: ("Carol", "carol", "jazz"),
}
ASKED = "@carol: your taste can join this group's blends if you allow it"


@pytest.fixture
async def rig(tmp_path: Path, genre_dir: Path) -> AsyncIterator[TelegramRig]:
    started = await start_rig(tmp_path, genre_dir)
    yield started
    await stop_rig(started)


def in_group(who: int, message_id: int = 1) -> dict[str, Any]:
    """Where and by whom a group message is sent (each member with a @username)."""
    name, handle, _ = PEOPLE[who]
    return {
        "user_id": who,
        "first_name": name,
        "username": handle,
        "chat_id": GROUP,
        "kind": "group",
        "message_id": message_id,
    }


async def libraries(rig: TelegramRig, tmp_path: Path) -> tuple[set[str], set[str]]:
    """Each member's library (24 demo tracks of their genre); every id and title they hold."""
    service = rig.service
    tracks, genres = service.catalog.tracks, service.catalog.genres
    ids: set[str] = set()
    for who, (_, _, genre) in PEOPLE.items():
        data = library_csv(service, tmp_path / f"{who}.csv", genre)
        user = ChatUser("telegram", str(who))
        await service.taste.import_library(user, data=data, filename="library.csv")
        ids |= set(genres.loc[genres["genre"] == genre, "track_id"].astype(str).tolist()[:24])
    await service.taste.training.idle()
    return ids, {track_card(t, tracks.loc[t]).title for t in ids}


async def press(rig: TelegramRig, data: str, who: int, question: int) -> Call:
    """Press the button with callback ``data`` under the group message ``question`` as ``who``."""
    name, handle, _ = PEOPLE[who]
    mark = len(rig.fake.calls)
    update = callback(data, who, question, GROUP, "group", first_name=name, username=handle)
    await rig.fake.send_update(update)
    return await rig.fake.wait_for("answerCallbackQuery", after=mark)


def question_id(rig: TelegramRig, contains: str) -> int:
    """The id of the bot's last group message whose text holds ``contains``."""
    return max(m for (c, m), text in rig.fake.messages.items() if c == GROUP and contains in text)


async def test_a_group_blend_serves_the_opted_in_members_and_never_scores_the_one_who_did_not(
    rig: TelegramRig, tmp_path: Path
) -> None:
    owned, titles = await libraries(rig, tmp_path)
    service = rig.service
    for who in (ANN, BOB):
        allowed = await rig.reply_to(
            f"/privacy@{BOT_USERNAME} blend on", "may now be used", **in_group(who)
        )
        assert "asked for in this group" in allowed.text
    await rig.reply_to(f"/help@{BOT_USERNAME}", "Commands", **in_group(CAROL))  # here, silent
    carol = await service.users.uid(ChatUser("telegram", str(CAROL)))
    scored: list[int] = []
    real_cached = service.blend.models.cached

    def watched(uid: int) -> object:
        scored.append(uid)
        return real_cached(uid)

    service.blend.models.cached = watched  # type: ignore[method-assign]
    mark = len(rig.fake.calls)

    # /blend 5 with no names: the group's two opted-in members, five tracks, Carol left alone.
    blend = await rig.reply_to(f"/blend@{BOT_USERNAME} 5", "A blend for", **in_group(ANN, 7))
    assert blend.params["chat_id"] == GROUP
    assert blend.params["reply_parameters"]["message_id"] == 7
    assert "A blend for @ann and @bob: 5 tracks" in blend.text
    assert "Satisfaction" in blend.text
    assert "carol" not in blend.text.lower() and carol not in scored
    assert len(set(scored)) == 2

    # Naming Carol asks her once, with a button only she may press; she is still not scored.
    asked = await rig.reply_to(f"/blend@{BOT_USERNAME} @bob @carol", ASKED, **in_group(ANN, 8))
    assert "press “Allow my taste in blends” below, or send /privacy blend on" in asked.text
    assert asked.callback_data == [f"pv:on:{CAROL}"]
    labels = [b["text"] for row in asked.params["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == ["Allow my taste in blends"]
    assert carol not in scored
    question = question_id(rig, ASKED)
    refused = await press(rig, f"pv:on:{CAROL}", BOB, question)
    assert refused.params["text"] == "This button is not yours." and refused.params["show_alert"]
    assert rig.app.storage.blend.consent(carol) is None
    again = await rig.reply_to(f"/blend@{BOT_USERNAME} @carol", "left out", **in_group(ANN, 9))
    assert "@carol hasn't allowed blends: left out." in again.text and ASKED not in again.text
    assert not again.callback_data and carol not in scored  # asked once

    # Carol presses it: she joins this group's blends, the button goes, the group is told.
    pressed = await press(rig, f"pv:on:{CAROL}", CAROL, question)
    assert "may now be used" in pressed.params["text"]
    assert rig.fake.sent("editMessageReplyMarkup")
    assert rig.app.storage.blend.consent(carol) is True
    everyone = await rig.reply_to(f"/blend@{BOT_USERNAME}", "A blend for", **in_group(BOB, 10))
    assert "A blend for @ann, @bob and @carol" in everyone.text and carol in scored

    # Nothing any member holds was shown in the group: no track of a library, by id or title.
    said = " ".join(c.text for c in rig.fake.calls[mark:] if c.method == "sendMessage")
    assert not [t for t in owned if t in said] and not [t for t in titles if t in said]
    await rig.settle()


async def test_privacy_in_a_private_chat_joins_no_group(rig: TelegramRig, tmp_path: Path) -> None:
    await libraries(rig, tmp_path)
    for who in (ANN, BOB):
        handle = PEOPLE[who][1]
        await rig.reply_to("/privacy blend on", "may now be used", user_id=who, username=handle)
    alone = await rig.reply_to(f"/blend@{BOT_USERNAME}", "", **in_group(ANN, 4))
    assert "A blend needs at least 2 listeners" in alone.text  # Bob allowed it, but not here
    named = await rig.reply_to(f"/blend@{BOT_USERNAME} @bob 3", "A blend for", **in_group(ANN, 5))
    assert "A blend for Ann and @bob: 3 tracks" in named.text  # named, he is in
    await rig.settle()
