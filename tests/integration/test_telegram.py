"""The Telegram front end to end: the real python-telegram-bot Application polls a fake Bot API on
127.0.0.1; scripted updates go in, the bot's Bot API calls are checked."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.cards import track_card
from bot.core.commands import offered
from bot.core.replies import Button, ChatUser, Reply, StatusReply
from tests.fakes.fake_telegram import callback, document
from tests.integration.telegram_rig import TelegramRig, library_csv, start_rig, stop_rig

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TRACK_URL = re.compile(r"https://open\.spotify\.com/track/([A-Za-z0-9]{22})")
ANN = 1001


@pytest.fixture
async def rig(
    tmp_path: Path, genre_dir: Path, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[TelegramRig]:
    caplog.set_level(logging.DEBUG)  # everything is captured: no token may appear in it
    started = await start_rig(tmp_path, genre_dir)
    yield started
    await stop_rig(started)
    assert started.fake.token not in caplog.text
    assert started.fake.token.split(":")[1] not in caplog.text


async def test_help_is_answered_and_the_command_menu_published(rig: TelegramRig) -> None:
    reply = await rig.reply_to("/help", "Commands")
    assert reply.params["chat_id"] == ANN
    assert "/stats" in reply.text and "/digest" in reply.text
    assert "/wait" not in reply.text  # console-only commands stay hidden
    menu = rig.fake.sent("setMyCommands")[0].params["commands"]
    names = {c["command"] for c in menu}
    assert {"recommend", "genre", "stats", "digest", "import", "workout"} <= names
    assert "quit" not in names
    assert [c["command"] for c in menu] == [s.name for s in offered("telegram")]
    assert rig.fake.sent("getMe") and rig.fake.sent("deleteWebhook")  # polling, not a webhook


async def test_csv_upload_recommend_feedback_button_stats_and_digest(
    rig: TelegramRig, tmp_path: Path
) -> None:
    # A CSV document is downloaded through getFile and imported.
    data = library_csv(rig.service, tmp_path / "liked.csv")
    file_id = rig.fake.add_file(data, "documents/file_7.csv")
    mark = len(rig.fake.calls)
    await rig.fake.send_update(document(file_id, "liked.csv", len(data), user_id=ANN))
    imported = await rig.fake.wait_for("sendMessage", lambda c: "Imported" in c.text, after=mark)
    assert "Imported 36 tracks" in imported.text
    assert rig.fake.sent("getFile")[0].params["file_id"] == file_id
    await rig.settle()

    # Recommendations: name, artists and link of every track, a 👍/👎 keyboard.
    listing = await rig.reply_to("/recommend 5 mood:calm", "tracks for you")
    ids = TRACK_URL.findall(listing.text)
    assert len(ids) == 5
    tracks = rig.service.catalog.tracks
    for track_id in ids:
        assert str(tracks.loc[track_id, "name"]) in listing.text
        first_artist = str(tracks.loc[track_id, "artists"]).split(";")[0]
        assert first_artist in listing.text
    assert listing.params["parse_mode"] == "HTML"
    assert set(listing.callback_data) == {f"fb:{a}:{t}" for t in ids for a in ("like", "dislike")}

    # Pressing 👍 stores the like and answers the callback query.
    mark = len(rig.fake.calls)
    await rig.fake.send_update(callback(f"fb:like:{ids[1]}", user_id=ANN))
    answered = await rig.fake.wait_for("answerCallbackQuery", after=mark)
    assert answered.params["text"].startswith("Noted: you liked")
    uid = await rig.service.users.uid(ChatUser("telegram", str(ANN)))
    assert rig.app.storage.taste.feedback(uid) == {ids[1]: 1}
    await rig.settle()

    # /stats: the text, then the PNG as a photo.
    mark = await rig.say("/stats")
    text = await rig.fake.wait_for("sendMessage", lambda c: "Top genres" in c.text, after=mark)
    photo = await rig.fake.wait_for("sendPhoto", after=mark)
    assert "acoustic" in text.text and "1 liked" in text.text
    assert photo.files["photo"].startswith(PNG_MAGIC)
    assert photo.params["chat_id"] == ANN

    # /digest on is stored in the user's settings.
    switched = await rig.reply_to("/digest on", "Weekly digest")
    assert "is on" in switched.text
    assert rig.app.storage.users.user_settings(uid)["digest"]["on"] is True


async def test_a_chat_path_import_is_refused(rig: TelegramRig) -> None:
    reply = await rig.reply_to("/import /etc/passwd", "Exportify")
    assert "as a file" in reply.text and reply.text.startswith("⚠️")


async def test_a_file_that_is_not_csv_is_refused(rig: TelegramRig) -> None:
    file_id = rig.fake.add_file(b"\x00\x01", "documents/x.png")
    mark = len(rig.fake.calls)
    await rig.fake.send_update(document(file_id, "x.png", 2, mime_type="image/png"))
    reply = await rig.fake.wait_for("sendMessage", after=mark)
    assert "isn't a CSV" in reply.text
    assert not rig.fake.sent("getFile")


async def test_a_stale_button_is_answered_not_crashed(rig: TelegramRig) -> None:
    mark = len(rig.fake.calls)
    await rig.fake.send_update(callback("something-old"))
    answered = await rig.fake.wait_for("answerCallbackQuery", after=mark)
    assert "no longer" in answered.params["text"]


async def test_deep_link_start_payload_runs_the_link_command(rig: TelegramRig) -> None:
    reply = await rig.reply_to("/start link_spotify", "Spotify")
    assert "isn't set up" in reply.text  # /link spotify ran (no Spotify app on this bot)
    plain = await rig.reply_to("/start", "3–5 songs or artists")  # a new listener is invited
    assert "/import" in plain.text


def _is_status(text: str) -> bool:
    """A workout's status message: its first reading, or a zone change."""
    return "First reading" in text or "\nZone " in text


async def test_workout_zone_changes_edit_one_status_message(rig: TelegramRig) -> None:
    started = await rig.reply_to("/workout start", "Workout started")
    assert started.params["chat_id"] == ANN
    first = await rig.fake.wait_for("sendMessage", lambda c: _is_status(c.text))
    assert "First reading" in first.text  # the first reading announces the first tracks
    assert len(TRACK_URL.findall(first.text)) == 3  # the next three tracks
    assert first.params["chat_id"] == ANN
    edited = await rig.fake.wait_for("editMessageText")
    assert edited.params["chat_id"] == ANN and "zone" in edited.text.lower()
    shown = TRACK_URL.findall(edited.text)
    assert shown and all(any(t in d for d in edited.callback_data) for t in shown)  # 👍/👎 kept
    zone_messages = [c for c in rig.fake.sent("sendMessage") if _is_status(c.text)]
    assert len(zone_messages) == 1  # the later zone change edited it instead of sending anew
    assert edited.params["message_id"] == 10_000 + rig.fake.calls.index(first) + 1
    mark = await rig.say("/workout stop")
    summary = await rig.fake.wait_for(
        "sendMessage", lambda c: "Workout summary" in c.text, after=mark
    )
    chart = await rig.fake.wait_for("sendPhoto", after=mark)
    assert "min, average" in summary.text and chart.files["photo"].startswith(PNG_MAGIC)


async def test_a_status_message_that_cannot_be_edited_is_sent_anew(rig: TelegramRig) -> None:
    status = StatusReply(title="Workout", text="Zone 3", edit_key="workout-77")
    await rig.front.push(str(ANN), status)
    rig.fake.fail("editMessageText", 400, "Bad Request: message to edit not found")
    await rig.front.push(
        str(ANN), StatusReply(title="Workout", text="Zone 4", edit_key="workout-77")
    )
    texts = [c.text for c in rig.fake.sent("sendMessage")]
    assert any("Zone 3" in t for t in texts) and any("Zone 4" in t for t in texts)


async def test_a_failing_send_reaches_the_central_error_handler(
    rig: TelegramRig, caplog: pytest.LogCaptureFixture
) -> None:
    rig.fake.fail("sendMessage", 400, "Bad Request: can't parse entities")
    apology = await rig.reply_to("/help", "incident")
    incident = re.search(r"incident ([0-9a-f]{6})", apology.text)
    assert incident is not None
    assert f"incident {incident[1]} while handling a Telegram update" in caplog.text


async def test_a_long_list_is_split_with_each_part_keeping_its_buttons(rig: TelegramRig) -> None:
    cards = tuple(
        track_card(str(t), rig.service.catalog.tracks.loc[t], "x" * 120)
        for t in rig.service.catalog.tracks.index[:45]
    )
    buttons = tuple(Button("👍", "like", c.track_id) for c in cards)
    await rig.front.push(str(ANN), Reply(title="Many", text="", tracks=cards, buttons=buttons))
    sent = rig.fake.sent("sendMessage")
    assert len(sent) == 3  # 20 + 20 + 5 tracks
    assert all(len(c.text) <= 4096 for c in sent)
    shown = [t for c in sent for t in TRACK_URL.findall(c.text)]
    assert shown == [c.track_id for c in cards]
    for call in sent:
        assert {d.split(":")[2] for d in call.callback_data} == set(TRACK_URL.findall(call.text))


async def test_workout_messages_a_closed_private_chat_cannot_take_are_announced_in_the_group(
    rig: TelegramRig,
) -> None:
    rig.fake.blocked_chats.add(ANN)  # Ann only ever talked to the bot in a group
    group = -4004
    started = await rig.reply_to("/workout start", "Workout started", chat_id=group, kind="group")
    assert started.params["chat_id"] == group
    notice = await rig.fake.wait_for("sendMessage", lambda c: "private chat" in c.text)
    assert notice.params["chat_id"] == group
    assert f"tg://user?id={ANN}" in notice.text
    assert notice.button_urls == ["https://t.me/beatmatch_test_bot"]
    assert rig.front.unreachable == {str(ANN)}
    await rig.say("/workout stop", chat_id=group, kind="group")
    await rig.fake.wait_for("sendMessage", lambda c: "Workout summary" in c.text)
    notices = [c for c in rig.fake.sent("sendMessage") if "haven't opened one" in c.text]
    assert len(notices) == 1  # said once, not at every zone change
