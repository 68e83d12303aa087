"""Account commands: /link, /unlink, /profile, /forget and /help (private answers where it matters)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.chat.discord.interactions import command, respond
from bot.core.commands import COMMANDS
from bot.core.heart_commands import PROFILE_FIELDS

if TYPE_CHECKING:
    from bot.chat.discord.bot import BeatmatchBot

Account = Literal["spotify", "pulsoid"]
_AGE, _REST, _MAX, _CADENCE = (
    PROFILE_FIELDS[k] for k in ("age", "resting_hr", "max_hr", "cadence")
)
HELP_TOPICS = [
    app_commands.Choice(name=spec.name, value=spec.name)
    for spec in COMMANDS
    if not spec.console_only
]


class AccountCog(commands.Cog, name="account"):
    """Linked accounts, the heart profile, forgetting, and help."""

    def __init__(self, bot: BeatmatchBot) -> None:
        self.bot = bot

    @app_commands.command(name="link")
    @app_commands.describe(
        account="Spotify for your taste, Pulsoid for your live heart rate",
        pasted="Optional: a Pulsoid token (pulsoid.net/ui/keys), or the address Spotify sent you to",
    )
    async def link(
        self,
        interaction: discord.Interaction,
        account: Account,
        pasted: app_commands.Range[str, 1, 2000] | None = None,
    ) -> None:
        """Link an account (the answer is visible to you only)."""
        await respond(interaction, command("link", account, pasted), ephemeral=True)

    @app_commands.command(name="unlink")
    @app_commands.describe(account="The account to unlink; its tokens are deleted")
    async def unlink(self, interaction: discord.Interaction, account: Account) -> None:
        """Unlink an account and delete its tokens."""
        await respond(interaction, command("unlink", account), ephemeral=True)

    @app_commands.command(name="profile")
    @app_commands.describe(
        age="Your age (sets the maximum heart rate by Tanaka's formula)",
        resting_hr="Resting heart rate, beats per minute",
        max_hr="Your own maximum heart rate, if you know it",
        cadence="Running cadence, steps per minute (tracks on your beat)",
        goal="The zone workout mode steers you to (1 very light … 5 maximal)",
    )
    async def profile(
        self,
        interaction: discord.Interaction,
        age: app_commands.Range[int, _AGE[1], _AGE[2]] | None = None,
        resting_hr: app_commands.Range[int, _REST[1], _REST[2]] | None = None,
        max_hr: app_commands.Range[int, _MAX[1], _MAX[2]] | None = None,
        cadence: app_commands.Range[int, _CADENCE[1], _CADENCE[2]] | None = None,
        goal: app_commands.Range[int, 1, 5] | None = None,
    ) -> None:
        """Your heart profile for workout mode; without options, shows it."""
        options = {"age": age, "resting_hr": resting_hr, "max_hr": max_hr, "cadence": cadence}
        await respond(interaction, command("profile", goal=goal, **options), ephemeral=True)

    @app_commands.command(name="forget")
    async def forget(self, interaction: discord.Interaction) -> None:
        """Erase everything beatmatch stores about you."""
        await respond(interaction, command("forget"), ephemeral=True)

    @app_commands.command(name="help")
    @app_commands.describe(topic="One command to explain")
    @app_commands.choices(topic=HELP_TOPICS)
    async def help(self, interaction: discord.Interaction, topic: str | None = None) -> None:
        """What beatmatch can do, or how to use one command."""
        await respond(interaction, command("help", topic), ephemeral=True)
