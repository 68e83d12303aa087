"""The real beatmatch Discord bot logged in to the fake Discord API, over a demo-catalog core.

Interactions arrive as the gateway delivers them: the INTERACTION_CREATE payload goes through the
ConnectionState's parser (what discord.py's gateway does with each event), so the real
``app_commands.CommandTree`` parses options, runs checks and autocomplete, and calls the cog, and
a pressed button reaches discord.py's view store (the persistent ``DynamicItem``s). ``restart``
closes the client and logs in a new one — a new bot process — over the same core and fake, so a
test presses a button of a message sent before the restart.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord

from bot.app import Beatmatch
from bot.chat.discord import BeatmatchBot
from bot.chat.push import PushRouter
from tests.fakes.fake_discord import (
    TOKEN,
    FakeDiscord,
    Request,
    command_interaction,
    component_interaction,
    guild_payload,
)
from tests.integration.telegram_rig import make_core
from tests.rig import settle


@dataclass
class DiscordRig:
    """The fake API, the logged-in bot and the core behind it."""

    fake: FakeDiscord
    bot: BeatmatchBot
    app: Beatmatch

    def gateway(self, payload: dict[str, Any]) -> None:
        """Deliver a gateway event's payload as discord.py's gateway does."""
        self.bot._connection.parsers["INTERACTION_CREATE"](payload)

    def guild(self, guild_id: int, voice: dict[int, list[int]]) -> None:
        """Deliver a GUILD_CREATE for ``guild_id`` with voice channels (id → the user ids in it)
        and those members' voice states, as the gateway sends it to a bot with the guilds and
        voice_states intents."""
        self.bot._connection.parsers["GUILD_CREATE"](guild_payload(guild_id, voice))

    async def run(
        self,
        name: str,
        options: list[dict[str, Any]] | None = None,
        *,
        user_id: int,
        guild_id: int = 0,
        user_install: bool = False,
        group_dm: bool = False,
    ) -> Request:
        """Invoke slash command ``name``; the last edit of its deferred response (the answer)."""
        payload = command_interaction(
            self.fake,
            name,
            options,
            user_id=user_id,
            guild_id=guild_id,
            user_install=user_install,
            group_dm=group_dm,
        )
        self.gateway(payload)
        token = payload["token"]
        original = f"/webhooks/{payload['application_id']}/{token}/messages/@original"

        def answered(requests: list[Request]) -> Request | None:
            edits = [r for r in requests if r.method == "PATCH" and r.path == original]
            # The answer is the edit that is not a progress line ("… ").
            done = [r for r in edits if not r.content.startswith("… ")]
            return done[-1] if done else None

        result: Request = await self.fake.wait_for(answered)
        return result

    async def press(
        self, message: dict[str, Any], custom_id: str, *, user_id: int, guild_id: int = 0
    ) -> Request:
        """``user_id`` presses the button ``custom_id`` under the kept ``message``; the bot's
        interaction response (the callback request: its ``type`` says what it did)."""
        payload = component_interaction(
            self.fake, message, custom_id, user_id=user_id, guild_id=guild_id
        )
        self.gateway(payload)
        path = f"/interactions/{payload['id']}/{payload['token']}/callback"

        def answered(requests: list[Request]) -> Request | None:
            return next((r for r in requests if r.method == "POST" and r.path == path), None)

        result: Request = await self.fake.wait_for(answered)
        return result

    async def restart(self) -> None:
        """Close this client and log in a new one (a new bot process) over the same core."""
        await self.bot.close()
        self.bot = await _logged_in(self.app)

    async def autocomplete(
        self, name: str, option: str, typed: str, *, user_id: int
    ) -> list[dict[str, Any]]:
        """Type ``typed`` into ``option`` of ``name``; the choices the bot offered."""
        focused = {"name": option, "type": 3, "value": typed, "focused": True}
        payload = command_interaction(self.fake, name, [focused], user_id=user_id, kind=4)
        self.gateway(payload)
        path = f"/interactions/{payload['id']}/{payload['token']}/callback"

        def offered(requests: list[Request]) -> Request | None:
            return next((r for r in requests if r.method == "POST" and r.path == path), None)

        sent: Request = await self.fake.wait_for(offered)
        assert sent.body["type"] == 8  # APPLICATION_COMMAND_AUTOCOMPLETE_RESULT
        return list(sent.body["data"]["choices"])


@asynccontextmanager
async def discord_rig(app: Beatmatch, **fake_options: Any) -> AsyncIterator[DiscordRig]:
    """The fake Discord API and the bot logged in to it; the core's outbox pushes through it."""
    fake = FakeDiscord(**fake_options)
    saved = discord.http.Route.BASE
    discord.http.Route.BASE = await fake.start()
    rig: DiscordRig | None = None
    try:
        rig = DiscordRig(fake, await _logged_in(app), app)
        yield rig
    finally:
        if rig is not None:
            await rig.bot.close()
        discord.http.Route.BASE = saved
        await fake.stop()


@asynccontextmanager
async def core_discord_rig(
    tmp_path: Path,
    genre_dir: Path,
    *,
    heart: list[tuple[float, float]] | None = None,
    **fake_options: Any,
) -> AsyncIterator[DiscordRig]:
    """The core (``make_core``: demo catalog, fast models, ``genre_dir``'s genre model; ``heart``
    for workouts) behind the logged-in bot; settled and shut down afterwards."""
    app = make_core(tmp_path, genre_dir, heart=heart)
    try:
        async with discord_rig(app, **fake_options) as running:
            yield running
    finally:
        await settle(app)
        await app.shutdown()


async def _logged_in(app: Beatmatch) -> BeatmatchBot:
    """A new bot logged in to the fake; the core's outbox pushes through it."""
    router = PushRouter(app.service.users)
    bot = BeatmatchBot(app.service, router)
    router.add(bot)
    app.outbox.connect(router)
    await bot.login(TOKEN)  # runs setup_hook: the cogs and the buttons, as on a real start
    return bot
