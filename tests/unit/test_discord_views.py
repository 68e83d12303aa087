"""Discord's feedback buttons and direct messages: custom_id round trips (buttons keep working
after a restart), presses reaching the core, DM rendering, edited status DMs, refused DMs."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from unittest import mock

import discord
import pytest

from bot.app import Beatmatch
from bot.chat.discord import BeatmatchBot
from bot.chat.discord.render import messages
from bot.chat.discord.views import TEMPLATE, FeedbackButton, custom_id
from bot.chat.push import PushRouter
from bot.core.replies import Button, Chart, ChatUser, Reply, TrackCard
from tests.integration.telegram_rig import make_core
from tests.rig import settle

TRACK = "4LRPiXqCikLlN15c3yImP7"
USER_ID = 777


@pytest.fixture
async def app(tmp_path: Path, genre_dir: Path) -> AsyncIterator[Beatmatch]:
    core = make_core(tmp_path, genre_dir)
    yield core
    await settle(core)
    await core.shutdown()


@pytest.fixture
def bot(app: Beatmatch) -> BeatmatchBot:
    return BeatmatchBot(app.service, PushRouter(app.service.users))


def pressed(bot: BeatmatchBot) -> Any:
    fake = mock.create_autospec(discord.Interaction, instance=True)
    fake.client = bot
    fake.user = mock.create_autospec(discord.User, instance=True)
    fake.user.id, fake.user.display_name = USER_ID, "Bo"
    fake.response = mock.create_autospec(discord.InteractionResponse, instance=True)
    return fake


@pytest.mark.parametrize("action", ["like", "dislike"])
async def test_custom_id_round_trip(bot: BeatmatchBot, action: str) -> None:
    button = FeedbackButton(action, TRACK, "👍 3")
    assert button.custom_id == custom_id(action, TRACK)
    assert len(button.custom_id) <= 100
    match = re.fullmatch(TEMPLATE, button.custom_id)
    assert match is not None
    rebuilt = await FeedbackButton.from_custom_id(pressed(bot), button.item, match)
    assert (rebuilt.action, rebuilt.track_id, rebuilt.custom_id) == (
        action,
        TRACK,
        button.custom_id,
    )


@pytest.mark.parametrize(
    "text", ["bm:fb:love:" + TRACK, "bm:fb:like:short", "other:like:" + TRACK, ""]
)
def test_foreign_custom_ids_do_not_match(text: str) -> None:
    assert re.fullmatch(TEMPLATE, text) is None


async def test_a_button_rebuilt_after_a_restart_stores_the_feedback(
    app: Beatmatch, bot: BeatmatchBot
) -> None:
    match = re.fullmatch(TEMPLATE, custom_id("like", TRACK))
    assert match is not None
    item = discord.ui.Button(label="👍 1", custom_id=match.string)
    rebuilt = await FeedbackButton.from_custom_id(pressed(bot), item, match)
    fake = pressed(bot)
    await rebuilt.callback(fake)
    text = fake.response.send_message.await_args.args[0]
    assert text.startswith("Noted: you liked")
    assert fake.response.send_message.await_args.kwargs["ephemeral"] is True
    uid = await bot.service.users.uid(ChatUser("discord", str(USER_ID)))
    assert app.storage.taste.feedback(uid) == {TRACK: 1}


def test_rendering_puts_every_track_name_artists_and_link_in_the_embed() -> None:
    cards = tuple(
        TrackCard(f"{i:022d}", f"Song *{i}*", "A;B", reason="close in sound") for i in range(3)
    )
    buttons = tuple(Button("👍", "like", c.track_id) for c in cards)
    [out] = messages(Reply(title="3 tracks for you:", text="", tracks=cards, buttons=buttons))
    assert out.content == ""  # the title is in the embed only, never repeated above it
    assert out.embed is not None and out.embed.title == "3 tracks for you:"
    assert out.embed is not None and out.embed.description is not None
    for card in cards:
        assert f"https://open.spotify.com/track/{card.track_id}" in out.embed.description
        assert discord.utils.escape_markdown(card.name) in out.embed.description
    assert "A, B" in out.embed.description
    assert out.view is not None and len(out.view.children) == 3


def test_a_chart_is_attached_and_shown(tmp_path: Path) -> None:
    png = tmp_path / "chart.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n")
    [out] = messages(Reply(title="Workout summary", text="done", charts=(Chart(png, "hr"),)))
    assert [f.filename for f in out.files] == ["chart.png"]
    assert out.embed is not None and out.embed.image.url == "attachment://chart.png"
