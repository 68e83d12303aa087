"""Answering a slash command: defer at once, run the core, render the Reply.

Every command defers first (the core may train a model or call Spotify, far beyond Discord's
3-second limit), shows progress by editing the "thinking…" message, and then replaces it with
the first message of the reply; further pieces follow as follow-ups. A list longer than one page
(ten tracks) is one message instead, turned with page buttons (``pages.py``). Slash-command options arrive
typed (Discord parsed them) and go to the core's dispatch as they are, checked against the command
registry — the adapter only collects and renders.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import discord
from discord import app_commands

from bot.chat.discord.identity import NO_MENTIONS, bot_of, chat_user
from bot.chat.discord.pages import page_message
from bot.chat.discord.render import messages
from bot.chat.render import shorten
from bot.core.commands import COMMAND_NAMES
from bot.core.dispatch import guarded, run_typed
from bot.core.progress import Notify
from bot.core.replies import ChatUser, Reply
from bot.core.service import BeatmatchService

log = logging.getLogger(__name__)
Call = Callable[[BeatmatchService, ChatUser, Notify], Awaitable[Reply]]


def command(name: str, /, **options: object) -> Call:
    """The registry's command ``name`` with the slash command's typed options (None: not given)."""

    async def call(service: BeatmatchService, user: ChatUser, notify: Notify) -> Reply:
        return await run_typed(service, user, name, options, notify=notify)

    return call


def describe(name: str) -> dict[str, str]:
    """The registry's description of each option of ``name`` as Discord offers it (for
    ``app_commands.describe``)."""
    return {option.name: option.summary for option in COMMAND_NAMES[name].options_on("discord")}


def limits(name: str, option: str) -> tuple[int, int]:
    """The registry's (low, high) of an int option (for ``app_commands.Range``)."""
    return COMMAND_NAMES[name].option(option).limits()


def follow_limits(
    command: app_commands.Command[Any, ..., Any], option: str, limits: Mapping[str, int]
) -> None:
    """Give ``option`` of a cog's ``command`` the range the operator configured (the registry
    names the limit, e.g. ``/recommend count`` up to ``recommend.max_count``).

    ``app_commands.Range`` is fixed when the cog class is defined and discord.py has no public way
    to change a parameter afterwards, so this replaces the parameter in the command's own table:
    each cog instance holds a copy of that table, so the class and other bots keep theirs.
    """
    low, high = COMMAND_NAMES[command.name].option(option).limits(limits)
    params = command._params
    params[option] = dataclasses.replace(params[option], min_value=low, max_value=high)


async def respond(
    interaction: discord.Interaction, call: Call, *, ephemeral: bool = False
) -> Reply:
    """Defer, run ``call`` against the core, and send its Reply (errors become replies too)."""
    await interaction.response.defer(thinking=True, ephemeral=ephemeral)
    bot = bot_of(interaction)
    user = chat_user(interaction.user)
    if bot.router is not None:
        await bot.router.seen(user)

    async def notify(message: str) -> None:
        try:
            await interaction.edit_original_response(
                content=shorten("… " + message, 2000), allowed_mentions=NO_MENTIONS
            )
        except discord.HTTPException:
            log.warning("a progress line could not be shown", exc_info=True)

    reply = await guarded(user, call(bot.service, user, notify))
    await send_reply(interaction, reply, ephemeral=ephemeral)
    return reply


async def send_reply(interaction: discord.Interaction, reply: Reply, *, ephemeral: bool) -> None:
    """Replace the deferred response with the reply's first message; follow up with the rest. A
    list longer than a page is kept by the core and shown as one message with page buttons."""
    lists = bot_of(interaction).service.lists
    if lists is not None and lists.needs_pages(reply) and not reply.charts:
        uid = await bot_of(interaction).service.users.uid(chat_user(interaction.user))
        page = await lists.keep(uid, reply)
        await interaction.edit_original_response(**page_message(page).edit_kwargs())
        return
    outgoing = messages(reply)
    first, rest = outgoing[0], outgoing[1:]
    await interaction.edit_original_response(**first.edit_kwargs())
    for out in rest:
        await interaction.followup.send(ephemeral=ephemeral, **out.send_kwargs())
