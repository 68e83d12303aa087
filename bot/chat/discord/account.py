"""Account commands: /link, /unlink, /profile, /forget and /help (private answers where it matters)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.chat.discord.interactions import command, describe, limits, respond
from bot.core.commands import COMMAND_NAMES, offered

if TYPE_CHECKING:
    from bot.chat.discord.bot import BeatmatchBot

Account = Literal["spotify", "pulsoid"]
_AGE, _REST, _MAX, _CADENCE, _GOAL = (
    limits("profile", name) for name in ("age", "resting_hr", "max_hr", "cadence", "goal")
)
HELP_TOPICS = [app_commands.Choice(name=spec.name, value=spec.name) for spec in offered("discord")]


class AccountCog(commands.Cog, name="account"):
    """Linked accounts, the heart profile, forgetting, and help."""

    def __init__(self, bot: BeatmatchBot) -> None:
        self.bot = bot

    @app_commands.command(name="link", description=COMMAND_NAMES["link"].summary[:100])
    @app_commands.describe(**describe("link"))
    async def link(
        self,
        interaction: discord.Interaction,
        account: Account,
        pasted: app_commands.Range[str, 1, 2000] | None = None,
    ) -> None:
        """Link an account (the answer is visible to you only)."""
        await respond(interaction, command("link", account=account, pasted=pasted), ephemeral=True)

    @app_commands.command(name="unlink", description=COMMAND_NAMES["unlink"].summary)
    @app_commands.describe(**describe("unlink"))
    async def unlink(self, interaction: discord.Interaction, account: Account) -> None:
        """Unlink an account and delete its tokens."""
        await respond(interaction, command("unlink", account=account), ephemeral=True)

    @app_commands.command(name="profile", description=COMMAND_NAMES["profile"].summary)
    @app_commands.describe(**describe("profile"))
    async def profile(
        self,
        interaction: discord.Interaction,
        age: app_commands.Range[int, _AGE[0], _AGE[1]] | None = None,
        resting_hr: app_commands.Range[int, _REST[0], _REST[1]] | None = None,
        max_hr: app_commands.Range[int, _MAX[0], _MAX[1]] | None = None,
        cadence: app_commands.Range[int, _CADENCE[0], _CADENCE[1]] | None = None,
        goal: app_commands.Range[int, _GOAL[0], _GOAL[1]] | None = None,
    ) -> None:
        """Your heart profile for workout mode; without options, shows it."""
        options = {"age": age, "resting_hr": resting_hr, "max_hr": max_hr, "cadence": cadence}
        await respond(interaction, command("profile", goal=goal, **options), ephemeral=True)

    @app_commands.command(name="forget", description=COMMAND_NAMES["forget"].summary)
    @app_commands.describe(**describe("forget"))
    async def forget(
        self, interaction: discord.Interaction, confirm: Literal["yes"] | None = None
    ) -> None:
        """Erase everything beatmatch stores about you, once confirmed (buttons or confirm:yes)."""
        await respond(interaction, command("forget", confirm=confirm), ephemeral=True)

    @app_commands.command(name="help", description=COMMAND_NAMES["help"].summary)
    @app_commands.describe(**describe("help"))
    @app_commands.choices(topic=HELP_TOPICS)
    async def help(self, interaction: discord.Interaction, topic: str | None = None) -> None:
        """What beatmatch can do, or how to use one command."""
        await respond(interaction, command("help", topic=topic), ephemeral=True)
