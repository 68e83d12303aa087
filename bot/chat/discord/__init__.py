"""The Discord front: discord.py app commands in cogs, one per feature, over the same core."""

from bot.chat.discord.bot import BeatmatchBot, DiscordFront

__all__ = ["BeatmatchBot", "DiscordFront"]
