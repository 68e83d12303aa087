"""Discord command handlers called as Discord would call them: the real bot, cogs and core over a
demo catalog; only discord's Interaction (and what hangs off it) is a spec'd mock."""

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
from bot.chat.discord.account import AccountCog
from bot.chat.discord.insight import InsightCog
from bot.chat.discord.music import MusicCog
from bot.chat.discord.pages import PageButton
from bot.chat.discord.views import FeedbackButton
from bot.chat.discord.workout import WorkoutCog
from bot.chat.push import PushRouter
from bot.core.replies import ChatUser
from tests.conftest import tiny_exportify_rows, write_exportify
from tests.integration.telegram_rig import library_csv, make_core
from tests.rig import genre_ready, settle

TRACK_URL = re.compile(r"https://open\.spotify\.com/track/([A-Za-z0-9]{22})")
USER_ID = 4242


@pytest.fixture
async def app(tmp_path: Path, genre_dir: Path) -> AsyncIterator[Beatmatch]:
    core = make_core(tmp_path, genre_dir)
    yield core
    await settle(core)
    await core.shutdown()


@pytest.fixture
async def bot(app: Beatmatch) -> BeatmatchBot:
    beatmatch = BeatmatchBot(app.service, PushRouter(app.service.users))
    await beatmatch.load_features()
    return beatmatch


def interaction(bot: BeatmatchBot, *, guild: bool = False) -> Any:
    """A spec'd Interaction from user 4242, with spec'd response and follow-up webhook."""
    fake = mock.create_autospec(discord.Interaction, instance=True)
    fake.client = bot
    fake.user = mock.create_autospec(discord.Member, instance=True)
    fake.user.id = USER_ID
    fake.user.display_name = "Ann"
    fake.response = mock.create_autospec(discord.InteractionResponse, instance=True)
    fake.response.is_done.return_value = False
    fake.followup = mock.create_autospec(discord.Webhook, instance=True)
    fake.guild = mock.create_autospec(discord.Guild, instance=True) if guild else None
    fake.channel = mock.create_autospec(discord.TextChannel, instance=True)
    return fake


def cog(bot: BeatmatchBot, kind: type[Any]) -> Any:
    found = bot.get_cog(kind.__cog_name__)
    assert found is not None
    return found


def final(fake: Any) -> dict[str, Any]:
    """The keyword arguments of the last edit of the deferred response."""
    return dict(fake.edit_original_response.await_args.kwargs)


async def _imported(app: Beatmatch, tmp_path: Path) -> None:
    data = library_csv(app.service, tmp_path / "liked.csv")
    await app.service.taste.import_library(ChatUser("discord", str(USER_ID)), data=data)
    await settle(app)


async def test_recommend_defers_then_shows_tracks_in_an_embed_with_buttons(
    app: Beatmatch, bot: BeatmatchBot, tmp_path: Path
) -> None:
    await _imported(app, tmp_path)
    fake = interaction(bot)
    music = cog(bot, MusicCog)
    await music.recommend.callback(music, fake, count=5, mood="calm", bpm=None, playlist=None)
    fake.response.defer.assert_awaited_once_with(thinking=True, ephemeral=False)
    sent = final(fake)
    assert sent["content"] is None  # no content line repeating the embed title
    assert sent["embed"].title.startswith("5 tracks for you")
    embed: discord.Embed = sent["embed"]
    ids = TRACK_URL.findall(embed.description or "")
    assert len(ids) == 5
    tracks = bot.service.catalog.tracks
    for track_id in ids:
        assert discord.utils.escape_markdown(str(tracks.loc[track_id, "name"])) in embed.description
    assert embed.footer.text and "coherence" in embed.footer.text
    buttons = [item for item in sent["view"].children if isinstance(item, FeedbackButton)]
    assert {(b.action, b.track_id) for b in buttons} == {
        (a, t) for t in ids for a in ("like", "dislike")
    }
    assert sent["allowed_mentions"].to_dict() == discord.AllowedMentions.none().to_dict()


async def test_a_long_list_is_one_message_of_ten_with_page_buttons(
    app: Beatmatch, bot: BeatmatchBot, tmp_path: Path
) -> None:
    await _imported(app, tmp_path)
    fake = interaction(bot)
    music = cog(bot, MusicCog)
    await music.recommend.callback(music, fake, count=25, mood=None, bpm=None, playlist=None)
    sent = final(fake)
    assert len(TRACK_URL.findall(sent["embed"].description)) == 10
    fake.followup.send.assert_not_awaited()  # no second message
    view = sent["view"]
    assert len([b for b in view.children if isinstance(b, FeedbackButton)]) == 20
    pages = [b for b in view.children if isinstance(b, PageButton)]
    assert [(b.item.label, b.item.disabled) for b in pages] == [
        ("◀ Prev", True),
        ("1 of 3", True),
        ("Next ▶", False),
    ]
    assert max(item.row or 0 for item in view.children) == 4  # Discord's five rows


async def test_errors_from_the_core_are_shown_as_plain_text(bot: BeatmatchBot) -> None:
    fake = interaction(bot)
    music = cog(bot, MusicCog)
    # Beyond recommend.max_count (Discord's own range check is skipped by calling the callback).
    await music.recommend.callback(music, fake, count=500, mood=None, bpm=None, playlist=None)
    sent = final(fake)
    assert sent["content"].startswith("⚠️") and "from 1 to 50" in sent["content"]
    assert sent["embed"] is None


async def test_user_text_echoed_back_mentions_no_one(bot: BeatmatchBot) -> None:
    fake = interaction(bot)
    music = cog(bot, MusicCog)
    await music.genre.callback(music, fake, track="@everyone <@&123> - nobody")
    sent = final(fake)
    assert "@everyone" in sent["content"]
    assert sent["allowed_mentions"].to_dict() == discord.AllowedMentions.none().to_dict()


async def test_genre_autocomplete_suggests_catalog_tracks_by_id(bot: BeatmatchBot) -> None:
    tracks = bot.service.catalog.tracks
    name = str(tracks.iloc[0]["name"])
    music = cog(bot, MusicCog)
    choices = await music.genre_track(interaction(bot), name[:6])
    assert 1 <= len(choices) <= 25
    assert all(len(c.name) <= 100 for c in choices)
    assert all(c.value in tracks.index for c in choices)
    assert await music.genre_track(interaction(bot), "x") == []


async def test_genre_of_a_picked_suggestion(app: Beatmatch, bot: BeatmatchBot) -> None:
    await genre_ready(app)
    track_id = str(bot.service.catalog.tracks.index[3])
    fake = interaction(bot)
    music = cog(bot, MusicCog)
    await music.genre.callback(music, fake, track=track_id)
    embed = final(fake)["embed"]
    assert "Classifier's top 3" in embed.description
    assert f"https://open.spotify.com/track/{track_id}" in embed.description


async def test_import_reads_the_attached_csv(bot: BeatmatchBot, tmp_path: Path) -> None:
    data = write_exportify(tmp_path / "l.csv", tiny_exportify_rows("acoustic", 12)).read_bytes()
    attachment = mock.create_autospec(discord.Attachment, instance=True)
    attachment.filename, attachment.size = "liked.csv", len(data)
    attachment.read.return_value = data
    fake = interaction(bot)
    music = cog(bot, MusicCog)
    await music.import_.callback(music, fake, file=attachment)
    fake.response.defer.assert_awaited_once_with(thinking=True, ephemeral=True)
    assert "Imported 12 tracks" in final(fake)["embed"].description
    attachment.filename = "photo.png"
    again = interaction(bot)
    await music.import_.callback(music, again, file=attachment)
    assert "isn't a CSV" in final(again)["content"]


async def test_link_is_private_and_says_when_spotify_is_not_set_up(bot: BeatmatchBot) -> None:
    fake = interaction(bot)
    account = cog(bot, AccountCog)
    await account.link.callback(account, fake, account="spotify", pasted=None)
    fake.response.defer.assert_awaited_once_with(thinking=True, ephemeral=True)
    assert "isn't set up" in final(fake)["content"]


async def test_profile_options_reach_the_core(bot: BeatmatchBot) -> None:
    fake = interaction(bot)
    account = cog(bot, AccountCog)
    await account.profile.callback(
        account, fake, age=34, resting_hr=58, max_hr=None, cadence=None, goal=4
    )
    text = final(fake)["embed"].description
    assert "Age: 34" in text and "Resting heart rate: 58" in text and "Goal zone: 4" in text


async def test_stats_attaches_the_png_to_the_embed(
    app: Beatmatch, bot: BeatmatchBot, tmp_path: Path
) -> None:
    await _imported(app, tmp_path)
    fake = interaction(bot)
    insight = cog(bot, InsightCog)
    await insight.stats.callback(insight, fake)
    sent = final(fake)
    [file] = sent["attachments"]
    assert file.filename.endswith(".png")
    assert sent["embed"].image.url == f"attachment://{file.filename}"
    assert "Top genres" in sent["embed"].description


async def test_digest_on_off(bot: BeatmatchBot) -> None:
    insight = cog(bot, InsightCog)
    on = interaction(bot)
    await insight.digest.callback(insight, on, state="on")
    assert "is on" in final(on)["embed"].description
    off = interaction(bot)
    await insight.digest.callback(insight, off, state="off")
    assert "is off" in final(off)["embed"].description


async def test_workout_start_in_a_guild_remembers_the_channel(bot: BeatmatchBot) -> None:
    fake = interaction(bot, guild=True)
    bot.dm_off.add(str(USER_ID))
    workouts = cog(bot, WorkoutCog)
    await workouts.start.callback(workouts, fake, goal=None, cadence=None)
    assert bot.workout_channels[str(USER_ID)] is fake.channel
    assert str(USER_ID) not in bot.dm_off  # a new workout tries DMs again
    # No Pulsoid linked and no simulated heart on a chat front: the core's answer is shown.
    assert "/link pulsoid" in final(fake)["content"]


async def test_a_failing_command_gets_an_apology_with_an_incident_id(
    bot: BeatmatchBot, caplog: pytest.LogCaptureFixture
) -> None:
    fake = interaction(bot)
    fake.command = None
    error = discord.app_commands.CommandInvokeError(mock.MagicMock(), RuntimeError("boom"))
    await bot.on_app_command_error(fake, error)
    text = fake.response.send_message.await_args.args[0]
    incident = re.search(r"incident ([0-9a-f]{6})", text)
    assert incident is not None and f"incident {incident[1]}" in caplog.text
