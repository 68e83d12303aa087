"""/stats (a picture of your taste) and /digest on|off (a weekly DM of fresh tracks)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.chat.discord.interactions import command, describe, respond
from bot.core.commands import COMMAND_NAMES

if TYPE_CHECKING:
    from bot.chat.discord.bot import BeatmatchBot


class InsightCog(commands.Cog, name="insight"):
    """What beatmatch has learned, and the weekly digest."""

    def __init__(self, bot: BeatmatchBot) -> None:
        self.bot = bot

    @app_commands.command(name="stats", description=COMMAND_NAMES["stats"].summary)
    async def stats(self, interaction: discord.Interaction) -> None:
        """A picture of your taste: its sound against the catalog, top genres, feedback."""
        await respond(interaction, command("stats"))

    @app_commands.command(name="digest", description=COMMAND_NAMES["digest"].summary)
    @app_commands.describe(**describe("digest"))
    async def digest(
        self, interaction: discord.Interaction, state: Literal["on", "off"] | None = None
    ) -> None:
        """A weekly direct message with 10 fresh recommendations."""
        await respond(interaction, command("digest", state=state), ephemeral=True)
