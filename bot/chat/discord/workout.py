"""/workout start|stop|status: music that follows the heart; zone changes arrive as DMs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.chat.discord.interactions import command, describe, limits, respond
from bot.core.commands import COMMAND_NAMES

if TYPE_CHECKING:
    from bot.chat.discord.bot import BeatmatchBot

_GOAL, _CADENCE = limits("workout", "goal"), limits("workout", "cadence")
_OPTIONS = describe("workout")


class WorkoutCog(commands.Cog, name="workout"):
    """Workout mode."""

    workout = app_commands.Group(name="workout", description=COMMAND_NAMES["workout"].summary)

    def __init__(self, bot: BeatmatchBot) -> None:
        self.bot = bot

    @workout.command(name="start")
    @app_commands.describe(goal=_OPTIONS["goal"], cadence=_OPTIONS["cadence"])
    async def start(
        self,
        interaction: discord.Interaction,
        goal: app_commands.Range[int, _GOAL[0], _GOAL[1]] | None = None,
        cadence: app_commands.Range[int, _CADENCE[0], _CADENCE[1]] | None = None,
    ) -> None:
        """Start a workout; zone changes come as direct messages."""
        user_id = str(interaction.user.id)
        self.bot.dm_off.discard(user_id)  # maybe they allowed DMs since the last workout
        # Told in this channel if DMs fail — only where the bot itself was added to the server
        # (a user-installed bot cannot post in a server's channels on its own).
        if interaction.is_guild_integration() and isinstance(
            interaction.channel, discord.abc.Messageable
        ):
            self.bot.workout_channels[user_id] = interaction.channel
        await respond(interaction, command("workout", action="start", goal=goal, cadence=cadence))

    @workout.command(name="stop")
    async def stop(self, interaction: discord.Interaction) -> None:
        """Stop the workout: summary and a chart of your heart rate."""
        await respond(interaction, command("workout", action="stop"))

    @workout.command(name="status")
    async def status(self, interaction: discord.Interaction) -> None:
        """Heart rate, zone and the music target right now."""
        await respond(interaction, command("workout", action="status"), ephemeral=True)
