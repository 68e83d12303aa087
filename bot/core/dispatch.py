"""A command → its handler → a Reply; errors become replies, never tracebacks.

Typed text (console, Telegram) is parsed and bound by the registry (``bot.core.commands``); a front
with typed options of its own (Discord) passes them as they are, checked against the same
registry. Either way the registry's ``handler`` names the feature service method that answers.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from bot.core.accounts.spotify_links import looks_like_callback
from bot.core.commands import (
    COMMAND_NAMES,
    FRONTS,
    CommandSpec,
    ParsedCommand,
    bind,
    check_args,
    parse_command,
)
from bot.core.errors import BadInput, UserFacingError
from bot.core.incidents import apology, log_incident
from bot.core.metrics import FAILED, OK, REFUSED
from bot.core.progress import Notify, silent
from bot.core.replies import ChatUser, Reply
from bot.core.service import BeatmatchService

log = logging.getLogger(__name__)
#: Telegram deep links (t.me/BOT?start=PAYLOAD) open a private chat with ``/start PAYLOAD``.
DEEP_LINKS = {"link_spotify": "/link spotify", "link_pulsoid": "/link pulsoid"}
Handler = Callable[..., Awaitable[Reply]]


def front_of(user: ChatUser) -> str:
    """The front a user writes from (the console for anything else, e.g. the CLI)."""
    return user.platform if user.platform in FRONTS else "console"


def handler(service: BeatmatchService, spec: CommandSpec) -> Handler:
    """The service method that answers ``spec`` (AttributeError if the registry names none)."""
    if not spec.handler:
        raise AttributeError(f"/{spec.name} has no handler in the core")
    target: Any = service
    for part in spec.handler.split("."):
        target = getattr(target, part)
    if not callable(target):
        raise AttributeError(f"{spec.handler} is not a method")
    return target


async def call(
    service: BeatmatchService,
    spec: CommandSpec,
    user: ChatUser,
    args: Mapping[str, Any],
    notify: Notify = silent,
) -> Reply:
    """Run ``spec``'s handler for ``user`` with typed ``args`` (and ``notify`` if it reports)."""
    method = handler(service, spec)
    extra: dict[str, Any] = {}
    if "notify" in inspect.signature(method).parameters:
        extra["notify"] = notify
    return await method(user, **args, **extra)


async def run_command(
    service: BeatmatchService, user: ChatUser, command: ParsedCommand, *, notify: Notify = silent
) -> Reply:
    """Bind a typed command's words and options, then run it."""
    spec = COMMAND_NAMES[command.name]
    if not spec.handler or front_of(user) not in spec.fronts:
        raise BadInput(f"/{spec.name} works only in the {' and '.join(spec.fronts)}.")
    return await call(service, spec, user, bind(spec, command, service.limits), notify)


async def run_typed(
    service: BeatmatchService,
    user: ChatUser,
    name: str,
    args: Mapping[str, Any],
    *,
    notify: Notify = silent,
) -> Reply:
    """Run the command ``name`` with options a front passed already typed (None = not given)."""
    spec = COMMAND_NAMES[name]
    started = time.perf_counter()
    outcome = FAILED
    try:
        reply = await call(service, spec, user, check_args(spec, args, service.limits), notify)
        outcome = REFUSED if reply.error else OK
        return reply
    except UserFacingError:
        outcome = REFUSED
        raise
    finally:
        service.meter.command(name, outcome, time.perf_counter() - started)


async def handle_text(
    service: BeatmatchService, user: ChatUser, text: str, *, notify: Notify = silent
) -> Reply:
    """Parse and run one typed command; any failure becomes a short reply (one that can be sent:
    what the user typed and the reply quotes may hold lone surrogates)."""

    name = "unknown"  # text that is no command of ours

    async def run() -> Reply:
        nonlocal name
        if looks_like_callback(text):  # a pasted-back OAuth address: never logged
            name = "link"
            return await service.accounts.finish_link(user, text, notify=notify)
        command = parse_command(deep_link(text))
        if command.name in COMMAND_NAMES:
            name = command.name
        return await run_command(service, user, command, notify=notify)

    started = time.perf_counter()
    reply, outcome = await outcome_of(user, run())
    service.meter.command(name, outcome, time.perf_counter() - started)
    return reply


async def guarded(user: ChatUser, call: Awaitable[Reply]) -> Reply:
    """Await one service call; a UserFacingError becomes its message, anything else an apology;
    either way, a reply that can be sent."""
    reply, _ = await outcome_of(user, call)
    return reply


async def outcome_of(user: ChatUser, call: Awaitable[Reply]) -> tuple[Reply, str]:
    """``guarded``'s reply and how the call ended (OK, REFUSED or FAILED, for metrics)."""
    try:
        reply = await call
        outcome = REFUSED if reply.error else OK
    except UserFacingError as error:
        reply, outcome = Reply(text=error.message, error=True), REFUSED
    except Exception:
        reply, outcome = logged_apology(user), FAILED
    return reply.sendable(), outcome


def deep_link(text: str) -> str:
    """``/start PAYLOAD`` (a Telegram deep link) as the command it stands for; other text as is
    (``/start`` with songs and artists is the cold start's own command)."""
    head, _, payload = text.strip().partition(" ")
    if head.split("@", 1)[0].lower() != "/start" or not payload.strip():
        return text
    return DEEP_LINKS.get(payload.strip(), text)


def deep_link_payload(text: str) -> str:
    """The deep-link payload that brings a user back to ``text`` in a private chat ("" if none)."""
    words = text.strip().lower().split()
    if len(words) >= 2 and words[0].split("@", 1)[0] == "/link":
        payload = f"link_{words[1]}"
        return payload if payload in DEEP_LINKS else ""
    return ""


def logged_apology(user: ChatUser) -> Reply:
    """Log the exception being handled with an incident id, and return the apology reply."""
    return apology(log_incident(log, "while serving a %s user", user.platform))
