"""The Discord bot: loads one cog per feature, registers the feedback buttons, pushes DMs.

Every slash command can be used in servers, in the bot's DMs and in private channels, whether the
bot was added to a server or to a listener's own account (user install). Slash commands are synced to the development guild (``discord.dev_guild_id``) on start, when one
is configured, and globally only on demand (``beatmatch sync-commands``): never on every start.
It needs no privileged intent (guilds, and voice states for ``/blend here``). ``DiscordFront`` runs it inside the bot's loop (``start``, not
``run``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.chat.discord.account import AccountCog
from bot.chat.discord.blend import BlendCog
from bot.chat.discord.consent_view import ConsentButton
from bot.chat.discord.forget_view import ForgetButton
from bot.chat.discord.identity import NO_MENTIONS
from bot.chat.discord.insight import InsightCog
from bot.chat.discord.music import MusicCog
from bot.chat.discord.pages import PageButton
from bot.chat.discord.render import messages
from bot.chat.discord.start import StartCog
from bot.chat.discord.views import FeedbackButton
from bot.chat.discord.workout import WorkoutCog
from bot.chat.push import PushRouter
from bot.config import DiscordConfig
from bot.core.commands import DEFAULT_LIMITS
from bot.core.delivery import Undeliverable
from bot.core.dispatch import apology
from bot.core.health import FrontStatus
from bot.core.incidents import incident_extra, log_incident
from bot.core.replies import Reply, StatusReply
from bot.core.service import BeatmatchService

log = logging.getLogger(__name__)
FEATURES: tuple[type[commands.Cog], ...] = (
    MusicCog,
    StartCog,
    BlendCog,
    AccountCog,
    WorkoutCog,
    InsightCog,
)
STATUS_MESSAGES_KEPT = 2000
DM_CHANNELS_KEPT = 100_000  # DM channel ids remembered (a few MB at most)


# beatmatch never joins voice: no warning at start about voice libraries it does not need.
discord.VoiceClient.warn_nacl = False
discord.VoiceClient.warn_dave = False


#: Installable to a server and to a listener's own account (Discord's "User Install").
INSTALLS = app_commands.AppInstallationType(guild=True, user=True)
#: Usable in servers, in the bot's DMs and in private channels (group DMs, other people's DMs)
#: — every command (``/blend here`` alone needs a server and says so elsewhere).
CONTEXTS = app_commands.AppCommandContext(guild=True, dm_channel=True, private_channel=True)


def intents() -> discord.Intents:
    """The guilds intent (for slash commands in channels) and voice states (who is in the
    requester's voice channel, for ``/blend here``); nothing privileged."""
    chosen = discord.Intents.none()
    chosen.guilds = True
    chosen.voice_states = True
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
        status: FrontStatus | None = None,
        limits: Mapping[str, int] = DEFAULT_LIMITS,
    ) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents(),
            help_command=None,
            allowed_mentions=NO_MENTIONS,
            allowed_installs=INSTALLS,
            allowed_contexts=CONTEXTS,
        )
        self._service = service
        self._limits = limits
        self.router = router
        self.dev_guild_id = dev_guild_id
        self.connection = status or FrontStatus(self.platform)  # what /readyz says of Discord
        self.workout_channels: dict[str, discord.abc.Messageable] = {}
        self.dm_off: set[str] = set()  # users whose DMs failed: not tried again until they ask
        self._status: dict[str, discord.Message] = {}
        self._dm_channels: dict[str, int] = {}  # user id → their DM channel's id
        self.tree.on_error = self.on_app_command_error  # type: ignore[method-assign]

    @property
    def service(self) -> BeatmatchService:
        """The core this bot serves."""
        if self._service is None:
            raise RuntimeError("this bot was built to sync commands only")
        return self._service

    @property
    def limits(self) -> Mapping[str, int]:
        """The operator's limits the slash commands' ranges follow (``recommend.max_count``): the
        core's, or those given to a bot built only to sync commands."""
        return self._service.limits if self._service is not None else self._limits

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
        self.add_dynamic_items(FeedbackButton, ForgetButton, PageButton, ConsentButton)
        if self.dev_guild_id:
            guild = discord.Object(id=self.dev_guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("Discord: %d commands synced to the development guild", len(synced))

    async def on_ready(self) -> None:
        """The gateway session is established (READY): commands can arrive."""
        self.connection.up("gateway ready")

    async def on_resumed(self) -> None:
        """A dropped gateway session was resumed."""
        self.connection.up("gateway resumed")

    async def on_disconnect(self) -> None:
        """The gateway connection dropped (discord.py reconnects on its own)."""
        self.connection.down("gateway disconnected")

    async def on_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """The one place a failing command ends up: log with an incident id, apologise."""
        name = interaction.command.qualified_name if interaction.command else "?"
        incident = log_incident(log, "in Discord command /%s", name, error=error)
        text = apology(incident).text
        try:
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
            else:
                await interaction.response.send_message(
                    text, ephemeral=True, allowed_mentions=NO_MENTIONS
                )
        except discord.HTTPException:
            log.warning(
                "incident %s: the apology could not be sent either",
                incident,
                extra=incident_extra(incident),
            )

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
            first = None
            for number, out in enumerate(outgoing):
                sent = await self._send_dm(user_id, out.send_kwargs(), reopen=number == 0)
                first = first or sent
        except discord.Forbidden as refused:  # 50007: their privacy settings refuse DMs
            await self._dms_refused(user_id)
            raise Undeliverable(
                f"Discord refused the direct message ({refused.code}: {refused.text})"
            ) from None
        except discord.NotFound as gone:  # the DM channel vanished twice: the account is gone
            raise Undeliverable(
                f"Discord has no direct message for this user ({gone.code}: {gone.text})"
            ) from None
        if key and first is not None:
            self._status[key] = first
            while len(self._status) > STATUS_MESSAGES_KEPT:
                self._status.pop(next(iter(self._status)))

    async def _dm_channel(self, user_id: str) -> discord.PartialMessageable:
        """The user's DM channel: opened once (``POST /users/@me/channels``), then remembered by
        id, so a push never fetches the user (``GET /users/{id}``) nor opens the DM again."""
        channel_id = self._dm_channels.get(user_id)
        if channel_id is None:
            try:
                channel = await self.create_dm(discord.Object(id=int(user_id)))
            except discord.Forbidden:
                raise  # told like a refused DM
            except discord.HTTPException as failed:  # 50033 / 10013: a user Discord doesn't know
                raise Undeliverable(
                    f"Discord would not open a direct message ({failed.code}: {failed.text})"
                ) from None
            channel_id = self._dm_channels[user_id] = channel.id
            while len(self._dm_channels) > DM_CHANNELS_KEPT:
                self._dm_channels.pop(next(iter(self._dm_channels)))
        return self.get_partial_messageable(channel_id, type=discord.ChannelType.private)

    async def _send_dm(self, user_id: str, kwargs: dict[str, Any], *, reopen: bool) -> Any:
        """Send one message to the user's DM; a channel gone since (404) is opened again once."""
        channel = await self._dm_channel(user_id)
        try:
            return await channel.send(**kwargs)
        except discord.NotFound:
            if not reopen:
                raise
            self._dm_channels.pop(user_id, None)
            return await (await self._dm_channel(user_id)).send(**kwargs)

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
        self.status = service.readiness.front(self.platform)
        self.bot = BeatmatchBot(
            service, router, dev_guild_id=config.dev_guild_id, status=self.status
        )
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Log in and connect in the background (``bot.start``, never ``bot.run``)."""
        self.status.down("connecting")
        self.task = asyncio.get_running_loop().create_task(self.bot.start(self.token))
        self.task.add_done_callback(lambda _: self.status.down("the connection ended"))

    async def stop(self) -> None:
        """Disconnect and wait for the connection task to end."""
        self.status.down("stopped")
        await self.bot.close()
        if self.task is not None:
            await asyncio.wait([self.task], timeout=10)

    async def push(self, user_id: str, reply: Reply) -> None:
        """Send a DM through the bot."""
        await self.bot.push(user_id, reply)


async def sync_commands(
    token: str, guild_id: int = 0, limits: Mapping[str, int] = DEFAULT_LIMITS
) -> list[Any]:
    """Publish the slash commands (their ranges from ``limits``): globally, or to one guild
    (``beatmatch sync-commands``)."""
    bot = BeatmatchBot(limits=limits)
    async with bot:
        await bot.login(token)  # runs setup_hook, which loads the cogs (no dev sync: id 0)
        if guild_id:
            guild = discord.Object(id=guild_id)
            bot.tree.copy_global_to(guild=guild)
            return await bot.tree.sync(guild=guild)
        return await bot.tree.sync()
