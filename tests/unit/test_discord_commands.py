"""Discord's slash-command tree: a snapshot of what would be synced (names, options, descriptions,
limits), Discord's own limits, that every chat command of the core has a slash command, and that
the descriptions are the command registry's (tests/unit/test_command_registry.py checks the rest).

After a deliberate change to the commands, refresh the snapshot with
``UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/unit/test_discord_commands.py``.
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path
from typing import Any

import pytest
from discord.ext import commands

from bot.chat.discord import BeatmatchBot
from bot.core.commands import COMMAND_NAMES, COMMANDS, offered
from bot.core.dispatch import handle_text
from bot.core.replies import ChatUser
from tests.rig import make_app, rig_config

SNAPSHOT = Path(__file__).parent / "snapshots" / "discord_commands.json"
NAME = re.compile(r"^[-_a-z0-9]{1,32}$")
#: Core commands Discord serves otherwise: like/dislike are buttons under each recommendation.
AS_BUTTONS = {"like", "dislike"}


async def _tree() -> list[dict[str, Any]]:
    bot = BeatmatchBot()
    await bot.load_features()
    return [command.to_dict(bot.tree) for command in bot.tree.get_commands()]


def _walk(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The command and every option (subcommands included), depth first."""
    found = [payload]
    for option in payload.get("options", []):
        found.extend(_walk(option))
    return found


async def test_the_command_tree_matches_its_snapshot() -> None:
    tree = await _tree()
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(json.dumps(tree, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    assert tree == json.loads(SNAPSHOT.read_text(encoding="utf-8"))


async def test_every_chat_command_of_the_core_has_a_slash_command() -> None:
    names = {c["name"] for c in await _tree()}
    wanted = {s.name for s in COMMANDS if not s.console_only} - AS_BUTTONS
    assert wanted <= names
    assert names - wanted == set()
    assert wanted == {s.name for s in offered("discord")}  # the registry says the same


async def test_descriptions_are_the_registrys() -> None:
    for command in await _tree():
        spec = COMMAND_NAMES[command["name"]]
        assert command["description"] == spec.summary[:100]
        for option in command.get("options", []):
            if option["type"] == 1:  # a /workout subcommand: its options are the registry's
                for sub in option.get("options", []):
                    assert sub["description"] == spec.option(sub["name"]).summary
            else:
                assert option["description"] == spec.option(option["name"]).summary


async def test_names_descriptions_and_choices_respect_discords_limits() -> None:
    for command in await _tree():
        assert len(command.get("options", [])) <= 25
        total = 0
        for item in _walk(command):
            assert NAME.match(item["name"]), item["name"]
            assert 1 <= len(item["description"]) <= 100, item["name"]
            total += len(item["name"]) + len(item["description"])
            choices = item.get("choices", [])
            assert len(choices) <= 25
            for choice in choices:
                assert 1 <= len(choice["name"]) <= 100 and len(str(choice["value"])) <= 100
                total += len(choice["name"]) + len(str(choice["value"]))
        assert total <= 4000, command["name"]  # Discord's cap per command


async def test_limits_the_core_checks_are_also_the_pickers_limits() -> None:
    tree = {c["name"]: c for c in await _tree()}
    count = next(o for o in tree["recommend"]["options"] if o["name"] == "count")
    assert (count["min_value"], count["max_value"]) == (1, 50)
    bpm = next(o for o in tree["recommend"]["options"] if o["name"] == "bpm")
    assert (bpm["min_value"], bpm["max_value"]) == (40, 220)
    workout = {o["name"]: o for o in tree["workout"]["options"]}
    assert set(workout) == {"start", "stop", "status"}
    genre = tree["genre"]["options"][0]
    assert genre["autocomplete"] is True and genre["max_length"] == 200


async def test_a_feature_that_fails_to_load_is_logged_and_the_rest_still_load(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Broken(commands.Cog):
        def __init__(self, bot: BeatmatchBot) -> None:
            raise RuntimeError("bad cog")

    from bot.chat.discord.bot import FEATURES

    bot = BeatmatchBot()
    with caplog.at_level(logging.ERROR):
        await bot.load_features((Broken, *FEATURES))
    assert "Broken failed to load" in caplog.text
    assert {"recommend", "stats"} <= {c.name for c in bot.tree.get_commands()}


def _count_range(bot: BeatmatchBot, command: str = "recommend") -> tuple[int, int]:
    found = bot.tree.get_command(command)
    assert found is not None
    option = next(o for o in found.to_dict(bot.tree)["options"] if o["name"] == "count")
    return option["min_value"], option["max_value"]


@pytest.mark.parametrize("max_count", ["5", "120"])
async def test_the_recommend_count_range_follows_the_configured_max_count(
    tmp_path: Path, max_count: str
) -> None:
    config = rig_config(
        tmp_path, BEATMATCH_RECOMMEND_MAX_COUNT=max_count, BEATMATCH_RECOMMEND_DEFAULT_COUNT="5"
    )
    app = make_app(tmp_path, config=config)
    try:
        bot = BeatmatchBot(app.service)
        await bot.load_features()
        assert _count_range(bot) == (1, int(max_count))
        assert _count_range(bot, "similar") == (1, 50)  # /similar's count is not configured
        # The core refuses beyond the same bound whatever the front (typed text here).
        text = f"/recommend {int(max_count) + 1}"
        reply = await handle_text(app.service, ChatUser("telegram", "1"), text)
        assert reply.error and f"from 1 to {max_count}" in reply.text
        other = BeatmatchBot()  # the class keeps Discord's default: each bot has its own copy
        await other.load_features()
        assert _count_range(other) == (1, 50)
    finally:
        await app.shutdown()


async def test_a_bot_built_to_sync_commands_takes_the_configured_range() -> None:
    bot = BeatmatchBot(limits={"max_count": 200})  # `beatmatch sync-commands` passes the config's
    await bot.load_features()
    assert _count_range(bot) == (1, 200)


async def test_every_command_can_be_user_installed_and_used_in_dms_and_private_channels() -> None:
    for command in await _tree():
        # 0: a server install, 1: a user install (added to one's own account)
        assert command["integration_types"] == [0, 1], command["name"]
        # 0: a server, 1: the bot's DM, 2: group DMs and DMs between other users
        assert command["contexts"] == [0, 1, 2], command["name"]
