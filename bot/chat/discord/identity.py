"""Who an interaction comes from and which core serves it (shared by commands and buttons)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord

from bot.core.replies import ChatUser

if TYPE_CHECKING:
    from bot.chat.discord.bot import BeatmatchBot
    from bot.core.service import BeatmatchService

#: Nothing the bot sends pings anyone unless a message says so explicitly.
NO_MENTIONS = discord.AllowedMentions.none()


def chat_user(user: discord.User | discord.Member) -> ChatUser:
    """The Discord user as the core knows chat users."""
    return ChatUser("discord", str(user.id), user.display_name)


def bot_of(interaction: discord.Interaction) -> BeatmatchBot:
    """The beatmatch bot that received ``interaction``."""
    from bot.chat.discord.bot import BeatmatchBot

    client = interaction.client
    if not isinstance(client, BeatmatchBot):
        raise TypeError("this interaction did not come through beatmatch's Discord bot")
    return client


def service_of(interaction: discord.Interaction) -> BeatmatchService:
    """The core service behind the bot that received ``interaction``."""
    return bot_of(interaction).service


async def pressed_by(interaction: discord.Interaction, owner: str, refusal: str) -> bool:
    """Whether the button's ``owner`` pressed it; anyone else is told ``refusal`` privately (the
    ``interaction_check`` of every owner-only button)."""
    if str(interaction.user.id) == owner:
        return True
    await interaction.response.send_message(refusal, ephemeral=True, allowed_mentions=NO_MENTIONS)
    return False


def pressed_label(item: discord.ui.Item[Any]) -> str:
    """The label of a pressed button (what ``DynamicItem.from_custom_id`` keeps); "" if none."""
    return (item.label if isinstance(item, discord.ui.Button) else None) or ""
