"""A new Telegram listener with no library starts with /start through the real
python-telegram-bot Application: names three songs, rates the offered tracks with the 👍/👎
buttons, and /recommend answers with the labelled first guess."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.replies import ChatUser
from tests.fakes.fake_telegram import callback
from tests.integration.telegram_rig import TelegramRig, start_rig, stop_rig

TRACK_URL = re.compile(r"https://open\.spotify\.com/track/([A-Za-z0-9]{22})")
ANN = 1001


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[TelegramRig]:
    started = await start_rig(tmp_path, tmp_path / "genre-models")
    yield started
    await stop_rig(started)


async def test_start_with_songs_then_rate_with_buttons_then_a_first_guess(
    rig: TelegramRig,
) -> None:
    tracks = rig.service.catalog.tracks
    named = [f"{tracks['name'].iat[i]} - {tracks['artists'].iat[i]}" for i in range(3)]
    offer = await rig.reply_to("/start " + ", ".join(named), "Got it")
    assert f"“{tracks['name'].iat[0]}” by {tracks['artists'].iat[0]}" in offer.text
    ids = TRACK_URL.findall(offer.text)
    assert len(ids) == 8
    assert set(offer.callback_data) == {f"fb:{a}:{t}" for t in ids for a in ("like", "dislike")}

    # 👍 on the first, 👎 on the second: stored, and the first guess reads them at once.
    uid = await rig.service.users.uid(ChatUser("telegram", str(ANN)))
    for action, track_id in (("like", ids[0]), ("dislike", ids[1])):
        mark = len(rig.fake.calls)
        await rig.fake.send_update(callback(f"fb:{action}:{track_id}", user_id=ANN))
        answered = await rig.fake.wait_for("answerCallbackQuery", after=mark)
        assert "Your first guess takes it into account now" in answered.params["text"]
    assert rig.app.storage.taste.feedback(uid) == {ids[0]: 1, ids[1]: -1}

    guess = await rig.reply_to("/recommend 5", "first guess")
    assert "first guess from the 3 songs and artists you named" in guess.text
    offered = TRACK_URL.findall(guess.text)
    assert len(offered) == 5 and not {ids[0], ids[1]} & set(offered)


async def test_enough_songs_named_and_liked_train_a_model_of_their_own(rig: TelegramRig) -> None:
    """3 songs named and 7 liked: from the 10th song on, /recommend is answered by a taste model
    trained on them through the queue, no longer by the first guess."""
    tracks = rig.service.catalog.tracks
    named = [f"{tracks['name'].iat[i]} - {tracks['artists'].iat[i]}" for i in range(3)]
    offer = await rig.reply_to("/start " + ", ".join(named), "Got it")
    ids = TRACK_URL.findall(offer.text)
    answers = []
    for track_id in ids[:7]:
        mark = len(rig.fake.calls)
        await rig.fake.send_update(callback(f"fb:like:{track_id}", user_id=ANN))
        answered = await rig.fake.wait_for("answerCallbackQuery", after=mark)
        answers.append(answered.params["text"])
    assert all(len(a) <= 200 for a in answers)  # what Telegram shows of a button's answer
    assert "like 1 more song " in answers[5]  # 3 named + 6 liked
    assert "Your own taste model is learning from the 10 songs you named and liked" in answers[6]
    await rig.settle()
    reply = await rig.reply_to("/recommend 5", "tracks for you")
    assert "first guess" not in reply.text
    assert "your taste model, learned from" in reply.text
    offered = TRACK_URL.findall(reply.text)
    assert len(offered) == 5 and not set(ids[:7]) & set(offered)
    uid = await rig.service.users.uid(ChatUser("telegram", str(ANN)))
    assert rig.app.storage.taste.model_record(uid, "taste")  # stored: it survives a restart
