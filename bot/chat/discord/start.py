"""/start on Discord: a cold start from up to five songs or artists, each picked with catalog
autocomplete or typed (an artist's name works too), through the same core path as the console's
``/start a, b, c``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.chat.discord.interactions import command, describe, respond
from bot.core.commands import COMMAND_NAMES

if TYPE_CHECKING:
    from bot.chat.discord.bot import BeatmatchBot

AUTOCOMPLETE_CHOICES = 25
Seed = app_commands.Range[str, 1, 200]


def joined_seeds(*seeds: str | None) -> str | None:
    """The seeds picked, as the core's comma-separated ``seeds`` (None when none was given)."""
    named = [s.replace(",", " ").strip() for s in seeds if s and s.strip()]
    return ", ".join(named) if named else None


class StartCog(commands.Cog, name="start"):
    """A first guess for a listener with no library yet."""

    def __init__(self, bot: BeatmatchBot) -> None:
        self.bot = bot

    @app_commands.command(name="start", description=COMMAND_NAMES["start"].summary)
    @app_commands.describe(**describe("start"))
    async def start(
        self,
        interaction: discord.Interaction,
        seed1: Seed | None = None,
        seed2: Seed | None = None,
        seed3: Seed | None = None,
        seed4: Seed | None = None,
        seed5: Seed | None = None,
    ) -> None:
        """Name 3–5 songs or artists you love for a first guess."""
        seeds = joined_seeds(seed1, seed2, seed3, seed4, seed5)
        await respond(interaction, command("start", seeds=seeds))

    @start.autocomplete("seed1")
    @start.autocomplete("seed2")
    @start.autocomplete("seed3")
    @start.autocomplete("seed4")
    @start.autocomplete("seed5")
    async def seed_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Catalog tracks matching what is typed, offered as "title - artist" (the text the
        core's seed search finds); what is typed stays usable as an artist's name."""
        text = current.strip()
        if len(text) < 2:
            return []
        found = await self.bot.service.lookup.suggest(text, AUTOCOMPLETE_CHOICES - 1)
        tracks = self.bot.service.catalog.tracks
        # What is typed first: an artist's name is a seed as it stands.
        choices = [app_commands.Choice(name=text[:100], value=text[:100])]
        for s in found:
            if s.track_id not in tracks.index:
                continue
            row = tracks.loc[s.track_id]
            artist = str(row["artists"]).split(";")[0]
            value = f"{row['name']} - {artist}"[:100]
            choices.append(app_commands.Choice(name=s.label[:100], value=value))
        return choices
