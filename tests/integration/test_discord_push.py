"""Messages the bot starts on its own (workout updates, digests, link confirmations) as direct
messages through the real discord.py against the fake Discord API: the DM channel is opened once
per listener and remembered — no ``GET /users/{id}`` per push — and a listener whose privacy
settings refuse DMs (50007) or whom Discord no longer knows costs one WARNING line, without a
traceback, while everyone else still gets theirs."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.replies import ChatUser, Reply, StatusReply
from tests.integration.discord_rig import DiscordRig, core_discord_rig

WELCOMING, REFUSING, GONE = 888, 777, 666


@pytest.fixture
async def rig(tmp_path: Path, genre_dir: Path) -> AsyncIterator[DiscordRig]:
    async with core_discord_rig(
        tmp_path, genre_dir, refusing={REFUSING}, unknown={GONE}
    ) as running:
        yield running


async def _uid(rig: DiscordRig, user_id: int) -> int:
    """The listener used a command before (how the bot learns where to reach them)."""
    return await rig.app.service.users.seen(ChatUser("discord", str(user_id)))


async def test_pushes_open_the_dm_once_and_never_fetch_the_user(rig: DiscordRig) -> None:
    ann = await _uid(rig, WELCOMING)
    for zone in (2, 3, 4):
        await rig.app.outbox.send(ann, Reply(title="Workout", text=f"Zone {zone}"))
    await rig.app.outbox.send(ann, Reply(title="Your weekly beatmatch digest", text="…"))
    assert len(rig.fake.calls("POST", "/users/@me/channels")) == 1
    assert rig.fake.calls("GET", f"/users/{WELCOMING}") == []
    sent = rig.fake.calls("POST", "/channels/")
    assert len(sent) == 4 and len({r.path for r in sent}) == 1  # all in the one DM channel
    assert [r.embeds[0]["description"] for r in sent[:3]] == ["Zone 2", "Zone 3", "Zone 4"]


async def test_a_status_message_is_edited_in_place(rig: DiscordRig) -> None:
    ann = await _uid(rig, WELCOMING)
    for zone in (3, 4):
        await rig.app.outbox.send(
            ann, StatusReply(title="Workout", text=f"Zone {zone}", edit_key="workout:1")
        )
    await rig.app.outbox.send(ann, Reply(title="Workout summary", text="done"))
    sent = rig.fake.calls("POST", "/channels/")
    assert [r.embeds[0]["description"] for r in sent] == ["Zone 3", "done"]  # status, summary
    [edited] = rig.fake.calls("PATCH", "/channels/")
    assert edited.path.startswith(sent[0].path) and edited.embeds[0]["description"] == "Zone 4"


async def test_refused_dms_switch_workout_dms_off_and_say_so_in_the_channel(
    rig: DiscordRig,
) -> None:
    refusing = await _uid(rig, REFUSING)
    channel = rig.bot.get_partial_messageable(4321)  # where the workout was started
    rig.bot.workout_channels[str(REFUSING)] = channel
    await rig.app.outbox.send(refusing, Reply(title="Workout", text="Zone 2"))
    [told] = rig.fake.calls("POST", "/channels/4321/messages")
    assert f"<@{REFUSING}>" in told.content and "workout messages are off" in told.content
    assert told.body["allowed_mentions"]["parse"] == ["users"]
    await rig.app.outbox.send(refusing, Reply(title="Workout", text="Zone 3"))  # not tried again
    assert len(rig.fake.calls("POST", "/channels/")) == 2  # the refused DM, the channel notice


async def test_a_refused_dm_is_one_warning_line_and_the_bot_goes_on(
    rig: DiscordRig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    refusing, welcoming = await _uid(rig, REFUSING), await _uid(rig, WELCOMING)
    await rig.app.outbox.send(refusing, Reply(title="Workout", text="Zone 3"))
    await rig.app.outbox.send(refusing, Reply(title="Workout", text="Zone 4"))  # not tried again
    await rig.app.outbox.send(welcoming, Reply(title="Workout", text="Zone 2"))
    assert len(rig.fake.calls("POST", "/channels/")) == 2  # one refused, one delivered

    loud = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not loud, [r.getMessage() for r in loud]
    assert not [r for r in caplog.records if r.exc_info or r.exc_text]  # no traceback anywhere
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    line = warning.getMessage()
    assert "\n" not in line
    assert f"user {refusing} was not delivered" in line
    assert "50007" in line and "Cannot send messages to this user" in line


async def test_a_user_discord_no_longer_knows_is_one_warning_line(
    rig: DiscordRig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    gone, welcoming = await _uid(rig, GONE), await _uid(rig, WELCOMING)
    await rig.app.outbox.send(gone, Reply(title="Workout", text="Zone 3"))
    await rig.app.outbox.send(welcoming, Reply(title="Workout", text="Zone 2"))
    assert len(rig.fake.calls("POST", "/channels/")) == 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert f"user {gone} was not delivered" in warning.getMessage()
    assert "50033" in warning.getMessage()
