"""The Discord bot: loads one cog per feature, registers the feedback buttons, pushes DMs.

Slash commands are synced to the development guild (``discord.dev_guild_id``) on start, when one
is configured, and globally only on demand (``beatmatch sync-commands``): never on every start.
It needs no privileged intent. ``DiscordFront`` runs it inside the bot's loop (``start``, not
``run``).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Iterable
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.chat.discord.account import AccountCog
from bot.chat.discord.forget_view import ForgetButton
from bot.chat.discord.identity import NO_MENTIONS
from bot.chat.discord.insight import InsightCog
from bot.chat.discord.music import MusicCog
from bot.chat.discord.render import messages
from bot.chat.discord.views import FeedbackButton
from bot.chat.discord.workout import WorkoutCog
from bot.chat.push import PushRouter
from bot.config import DiscordConfig
from bot.core.delivery import Undeliverable
from bot.core.dispatch import apology
from bot.core.replies import Reply, StatusReply
from bot.core.service import BeatmatchService

log = logging.getLogger(__name__)
FEATURES: tuple[type[commands.Cog], ...] = (MusicCog, AccountCog, WorkoutCog, InsightCog)
STATUS_MESSAGES_KEPT = 2000


# beatmatch never joins voice: no warning at start about voice libraries it does not need.
discord.VoiceClient.warn_nacl = False
discord.VoiceClient.warn_dave = False


def intents() -> discord.Intents:
    """Only the guilds intent (for slash commands in channels); nothing privileged."""
    chosen = discord.Intents.none()
    chosen.guilds = True
    return chosen


class BeatmatchBot(commands.Bot):
    """beatmatch on Discord; ``service`` may be None only to sync commands."""

    platform = "discord"

    def __init__(
        self,
        service: BeatmatchService | None = None,
        router: PushRouter | None = None,
        *,
        dev_guild_id: int = 0,
    ) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents(),
            help_command=None,
            allowed_mentions=NO_MENTIONS,
        )
        self._service = service
        self.router = router
        self.dev_guild_id = dev_guild_id
        self.workout_channels: dict[str, discord.abc.Messageable] = {}
        self.dm_off: set[str] = set()  # users whose DMs failed: not tried again until they ask
        self._status: dict[str, discord.Message] = {}
        self.tree.on_error = self.on_app_command_error  # type: ignore[method-assign]

    @property
    def service(self) -> BeatmatchService:
        """The core this bot serves."""
        if self._service is None:
            raise RuntimeError("this bot was built to sync commands only")
        return self._service

    async def load_features(self, features: Iterable[type[commands.Cog]] = FEATURES) -> None:
        """Add every feature cog; a failing one is logged and skipped, the rest still load."""
        for cog in features:
            try:
                await self.add_cog(cog(self))
            except Exception:
                log.exception("the Discord feature %s failed to load", cog.__name__)

    async def setup_hook(self) -> None:
        """Load the features, re-register the buttons, sync to the development guild if set."""
        await self.load_features()
        self.add_dynamic_items(FeedbackButton, ForgetButton)
        if self.dev_guild_id:
            guild = discord.Object(id=self.dev_guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("Discord: %d commands synced to the development guild", len(synced))

    async def on_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """The one place a failing command ends up: log with an incident id, apologise."""
        incident = secrets.token_hex(3)
        name = interaction.command.qualified_name if interaction.command else "?"
        log.error("incident %s in Discord command /%s", incident, name, exc_info=error)
        text = apology(incident).text
        try:
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
            else:
                await interaction.response.send_message(
                    text, ephemeral=True, allowed_mentions=NO_MENTIONS
                )
        except discord.HTTPException:
            log.warning("incident %s: the apology could not be sent either", incident)

    async def push(self, user_id: str, reply: Reply) -> None:
        """A DM the bot starts (workout, link, digest); a refused DM switches them off."""
        if user_id in self.dm_off:
            return  # already told in the channel; they can allow DMs and start again
        key = reply.edit_key if isinstance(reply, StatusReply) else ""
        outgoing = messages(reply)
        try:
            previous = self._status.get(key)
            if previous is not None and len(outgoing) == 1 and not reply.charts:
                try:
                    await previous.edit(**outgoing[0].edit_kwargs())
                    return
                except discord.NotFound:
                    pass
            user = self.get_user(int(user_id)) or await self.fetch_user(int(user_id))
            first = None
            for out in outgoing:
                sent = await user.send(**out.send_kwargs())
                first = first or sent
        except discord.Forbidden as refused:  # 50007: their privacy settings refuse DMs
            await self._dms_refused(user_id)
            raise Undeliverable(
                f"Discord refused the direct message ({refused.code}: {refused.text})"
            ) from None
        if key and first is not None:
            self._status[key] = first
            while len(self._status) > STATUS_MESSAGES_KEPT:
                self._status.pop(next(iter(self._status)))

    async def _dms_refused(self, user_id: str) -> None:
        """Switch the user's DMs off and say so where they started their workout."""
        self.dm_off.add(user_id)
        channel = self.workout_channels.get(user_id)
        if channel is None:
            log.info("a Discord user refuses DMs and has no workout channel to be told in")
            return
        try:
            await channel.send(
                f"<@{user_id}> I can't send you direct messages (your privacy settings refuse "
                "them), so workout messages are off: /workout status shows where you stand. "
                "Allow direct messages from this server's members and start again to get them.",
                allowed_mentions=discord.AllowedMentions(users=True, everyone=False, roles=False),
            )
        except discord.HTTPException:
            log.warning("could not tell a Discord user that their DMs are refused")


class DiscordFront:
    """Runs the bot inside the running loop: ``start`` logs in and connects in a task."""

    platform = "discord"

    def __init__(
        self, config: DiscordConfig, service: BeatmatchService, router: PushRouter | None = None
    ) -> None:
        self.token = config.token
        self.bot = BeatmatchBot(service, router, dev_guild_id=config.dev_guild_id)
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Log in and connect in the background (``bot.start``, never ``bot.run``)."""
        self.task = asyncio.get_running_loop().create_task(self.bot.start(self.token))

    async def stop(self) -> None:
        """Disconnect and wait for the connection task to end."""
        await self.bot.close()
        if self.task is not None:
            await asyncio.wait([self.task], timeout=10)

    async def push(self, user_id: str, reply: Reply) -> None:
        """Send a DM through the bot."""
        await self.bot.push(user_id, reply)


async def sync_commands(token: str, guild_id: int = 0) -> list[Any]:
    """Publish the slash commands: globally, or to one guild (``beatmatch sync-commands``)."""
    bot = BeatmatchBot()
    async with bot:
        await bot.login(token)  # runs setup_hook, which loads the cogs (no dev sync: id 0)
        if guild_id:
            guild = discord.Object(id=guild_id)
            bot.tree.copy_global_to(guild=guild)
            return await bot.tree.sync(guild=guild)
        return await bot.tree.sync()
