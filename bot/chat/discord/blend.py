"""/blend and /privacy on Discord: one fair list for the members picked (up to six) or, with
``here:yes``, for everyone in the requester's voice channel — through the core's BlendService, so a
member who has not allowed blends is never scored (they are asked with the consent button,
``consent_view.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.chat.discord.identity import chat_user
from bot.chat.discord.interactions import Call, describe, follow_limits, limits, respond
from bot.core.commands import COMMAND_NAMES, MOOD_NAMES
from bot.core.errors import BadInput
from bot.core.progress import Notify
from bot.core.replies import ChatUser, Reply
from bot.core.service import BeatmatchService

if TYPE_CHECKING:
    from bot.chat.discord.bot import BeatmatchBot

_COUNT, _BPM = limits("blend", "count"), limits("blend", "bpm")
NEEDS_SERVER = (
    "/blend here needs a server: use it in a server channel while you are in a voice channel."
)
NOT_IN_VOICE = "Join a voice channel first: /blend here blends everyone in yours."
NO_BLEND = "Blends are not offered here."
Picked = discord.Member | discord.User


def place_of(interaction: discord.Interaction) -> str:
    """The server a command is said in ("discord:<guild id>"), "" in a DM."""
    return f"discord:{interaction.guild_id}" if interaction.guild_id else ""


def voice_members(interaction: discord.Interaction) -> list[discord.Member]:
    """The other people in the requester's voice channel (bots left out)."""
    guild = interaction.guild
    if guild is None or interaction.guild_id is None:
        raise BadInput(NEEDS_SERVER)
    member = guild.get_member(interaction.user.id) or interaction.user
    voice = member.voice if isinstance(member, discord.Member) else None
    if voice is None or voice.channel is None:
        raise BadInput(NOT_IN_VOICE)
    return [m for m in voice.channel.members if not m.bot and m.id != interaction.user.id]


def blend_call(
    interaction: discord.Interaction,
    picked: list[Picked],
    here: bool,
    count: int | None,
    mood: str | None,
    bpm: int | None,
    playlist: str | None = None,
) -> Call:
    """The core's /blend for the members picked (and the voice channel's, with ``here``)."""

    async def call(service: BeatmatchService, user: ChatUser, notify: Notify) -> Reply:
        if service.blend is None:
            return Reply(text=NO_BLEND, error=True)
        people: list[Picked] = list(picked)
        if here:
            people += voice_members(interaction)
        named = tuple(chat_user(p) for p in {p.id: p for p in people}.values() if not p.bot)
        if not named and not place_of(interaction):
            raise BadInput("Pick who the blend is for (member1 … member6), 1 to 11 people.")
        return await service.blend.blend(
            user,
            count=count,
            mood=mood,
            bpm=bpm,
            playlist=playlist,
            place=place_of(interaction),
            named=named,
            notify=notify,
        )

    return call


class BlendCog(commands.Cog, name="blend"):
    """Fair group lists and the consent they need."""

    def __init__(self, bot: BeatmatchBot) -> None:
        self.bot = bot
        follow_limits(self.blend, "count", bot.limits)  # up to recommend.max_count

    @app_commands.command(name="blend", description=COMMAND_NAMES["blend"].summary)
    @app_commands.describe(**describe("blend"))
    @app_commands.choices(
        mood=[app_commands.Choice(name=m, value=m) for m in MOOD_NAMES],
        here=[app_commands.Choice(name=h, value=h) for h in ("yes", "no")],
    )
    async def blend(
        self,
        interaction: discord.Interaction,
        member1: Picked | None = None,
        member2: Picked | None = None,
        member3: Picked | None = None,
        member4: Picked | None = None,
        member5: Picked | None = None,
        member6: Picked | None = None,
        here: str | None = None,
        count: app_commands.Range[int, _COUNT[0], _COUNT[1]] | None = None,
        mood: str | None = None,
        bpm: app_commands.Range[int, _BPM[0], _BPM[1]] | None = None,
        playlist: app_commands.Range[str, 1, 100] | None = None,
    ) -> None:
        """One fair list for several listeners who allowed it."""
        picked = [m for m in (member1, member2, member3, member4, member5, member6) if m]
        call = blend_call(interaction, picked, here == "yes", count, mood, bpm, playlist)
        await respond(interaction, call)

    @app_commands.command(name="privacy", description=COMMAND_NAMES["privacy"].summary)
    @app_commands.describe(**describe("privacy"))
    @app_commands.choices(
        setting=[app_commands.Choice(name="blend", value="blend")],
        state=[app_commands.Choice(name=s, value=s) for s in ("on", "off")],
    )
    async def privacy(
        self, interaction: discord.Interaction, setting: str, state: str | None = None
    ) -> None:
        """Allow (or stop) your taste being used in others' blends."""
        place = place_of(interaction)

        async def call(service: BeatmatchService, user: ChatUser, notify: Notify) -> Reply:
            if service.blend is None:
                return Reply(text=NO_BLEND, error=True)
            return await service.blend.privacy(
                user, setting=setting, state=state or "", place=place
            )

        await respond(interaction, call, ephemeral=True)
