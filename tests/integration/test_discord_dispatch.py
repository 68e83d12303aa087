"""Slash commands through Discord's real path: an INTERACTION_CREATE payload into discord.py's
ConnectionState, the real ``app_commands.CommandTree`` (option parsing, autocomplete, checks), the
cogs and the core over a demo catalog, and every answer sent over HTTP to the fake Discord API."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import Beatmatch
from bot.core.replies import ChatUser
from tests.fakes.fake_discord import EPHEMERAL
from tests.integration.discord_rig import DiscordRig, core_discord_rig
from tests.integration.telegram_rig import library_csv
from tests.rig import genre_ready, settle

TRACK_URL = re.compile(r"https://open\.spotify\.com/track/([A-Za-z0-9]{22})")
ANN, GUILD = 4242, 9090


@pytest.fixture
async def rig(tmp_path: Path, genre_dir: Path) -> AsyncIterator[DiscordRig]:
    async with core_discord_rig(tmp_path, genre_dir) as running:
        yield running


async def _imported(app: Beatmatch, tmp_path: Path) -> None:
    data = library_csv(app.service, tmp_path / "liked.csv")
    await app.service.taste.import_library(ChatUser("discord", str(ANN)), data=data)
    await settle(app)


def _callback(rig: DiscordRig) -> dict[str, Any]:
    [callback] = [r for r in rig.fake.calls("POST", "/interactions/")]
    return callback.body


async def test_recommend_in_a_server_parses_its_options_and_answers_in_one_embed(
    rig: DiscordRig, tmp_path: Path
) -> None:
    await _imported(rig.app, tmp_path)
    options = [
        {"name": "count", "type": 4, "value": 4},
        {"name": "mood", "type": 3, "value": "calm"},
    ]
    answer = await rig.run("recommend", options, user_id=ANN, guild_id=GUILD)
    callback = _callback(rig)
    assert callback["type"] == 5  # deferred ("beatmatch is thinking…"), then edited
    assert not int(callback.get("data", {}).get("flags") or 0) & EPHEMERAL  # the channel sees it
    [embed] = answer.embeds
    assert embed["title"].startswith("4 tracks for you")
    assert answer.content == ""  # the title is not repeated above the embed
    ids = TRACK_URL.findall(embed["description"])
    assert len(ids) == 4
    assert set(answer.custom_ids) == {f"bm:fb:{a}:{t}" for t in ids for a in ("like", "dislike")}


async def test_genre_autocomplete_then_the_picked_track(rig: DiscordRig) -> None:
    await genre_ready(rig.app)
    tracks = rig.app.service.catalog.tracks
    name = str(tracks.iloc[0]["name"])
    choices = await rig.autocomplete("genre", "track", name[:6].lower(), user_id=ANN)
    assert 1 <= len(choices) <= 25
    assert all(c["value"] in tracks.index for c in choices)
    picked = str(choices[0]["value"])
    answer = await rig.run(
        "genre", [{"name": "track", "type": 3, "value": picked}], user_id=ANN, guild_id=GUILD
    )
    [embed] = answer.embeds
    assert "Classifier's top 3" in embed["description"]
    assert f"https://open.spotify.com/track/{picked}" in embed["description"]


async def test_forget_asks_first_privately_and_confirm_yes_erases(
    rig: DiscordRig, tmp_path: Path
) -> None:
    await _imported(rig.app, tmp_path)
    uid = await rig.app.service.users.uid(ChatUser("discord", str(ANN)))
    asked = await rig.run("forget", user_id=ANN, guild_id=GUILD)
    callback = _callback(rig)
    assert callback["type"] == 5 and callback["data"] == {"flags": EPHEMERAL}  # only Ann sees it
    assert "erase" in str(asked.embeds or asked.content).lower()
    assert rig.app.storage.taste.library_size(uid) > 0  # nothing erased yet
    await rig.run(
        "forget", [{"name": "confirm", "type": 3, "value": "yes"}], user_id=ANN, guild_id=GUILD
    )
    assert rig.app.storage.taste.library_size(uid) == 0


async def test_a_user_installed_bot_answers_in_its_dm(rig: DiscordRig) -> None:
    """Ann added beatmatch to her own account and uses it in the bot's DM (context 1)."""
    answer = await rig.run("help", user_id=ANN)
    [embed] = answer.embeds
    assert "direct message" in embed["description"]
    assert "Add to My Apps" in embed["description"]
    # The answer went to this interaction, not through a DM channel the bot opened itself.
    assert not rig.fake.calls("POST", "/users/@me/channels")


async def test_a_user_installed_bot_recommends_in_a_group_dm(
    rig: DiscordRig, tmp_path: Path
) -> None:
    """Ann shares picks with friends in a group DM (a private channel, context 2)."""
    await _imported(rig.app, tmp_path)
    count = [{"name": "count", "type": 4, "value": 3}]
    answer = await rig.run("recommend", count, user_id=ANN, group_dm=True)
    [embed] = answer.embeds
    assert len(TRACK_URL.findall(embed["description"])) == 3


async def test_the_digest_says_when_in_discord_timestamps(rig: DiscordRig) -> None:
    answer = await rig.run(
        "digest", [{"name": "state", "type": 3, "value": "on"}], user_id=ANN, guild_id=GUILD
    )
    [embed] = answer.embeds
    uid = await rig.app.service.users.uid(ChatUser("discord", str(ANN)))
    due = int(rig.app.service.insight.digests.state(uid)["due"])
    # Each reader sees the date in their own time zone, and how far away it is.
    assert f"next on <t:{due}:f> (<t:{due}:R>)" in embed["description"]
    assert "UTC" not in embed["description"]


@pytest.mark.parametrize(("user_install", "remembered"), [(False, True), (True, False)])
async def test_workout_start_remembers_the_channel_only_where_the_bot_can_post(
    rig: DiscordRig, user_install: bool, remembered: bool
) -> None:
    """A refused DM is announced in the channel the workout started in — which a bot added only
    to the listener's account (not to the server) cannot post in."""
    start = [{"name": "start", "type": 1, "options": []}]
    answer = await rig.run("workout", start, user_id=ANN, guild_id=GUILD, user_install=user_install)
    assert "/link pulsoid" in answer.content  # no heart-rate source linked: the core says so
    assert (str(ANN) in rig.bot.workout_channels) is remembered
