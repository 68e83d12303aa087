"""Typed command text → the service method → a Reply; errors become replies, never tracebacks."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable

from bot.core.commands import ParsedCommand, parse_command
from bot.core.errors import BadInput, UserFacingError
from bot.core.progress import Notify, silent
from bot.core.replies import ChatUser, Reply
from bot.core.service import BeatmatchService
from bot.core.spotify_linking import looks_like_callback

log = logging.getLogger(__name__)
#: Telegram deep links (t.me/BOT?start=PAYLOAD) open a private chat with ``/start PAYLOAD``.
DEEP_LINKS = {"link_spotify": "/link spotify", "link_pulsoid": "/link pulsoid"}
UPLOAD_HINT = (
    "Send your Exportify CSV as a file (exportify.net → Liked Songs → Export): "
    "attach it on Discord's /import, or send it as a document here on Telegram."
)


def apology(incident: str) -> Reply:
    """What a user sees when something broke on our side."""
    return Reply(
        text=f"Sorry — something went wrong on my side (incident {incident}). "
        "It has been logged; please try again in a moment.",
        error=True,
    )


async def run_command(
    service: BeatmatchService,
    user: ChatUser,
    command: ParsedCommand,
    *,
    notify: Notify = silent,
    console: bool = False,
) -> Reply:
    """Call the service method for one parsed command."""
    words, options = command.words, command.options
    match command.name:
        case "help":
            return await service.help(user, command.rest, console=console)
        case "import" if not console:
            raise BadInput(UPLOAD_HINT)  # a path names a file on the bot's machine: console only
        case "import":
            return await service.import_library(user, command.rest, notify=notify)
        case "recommend":
            count = options.get("count") or (words[0] if words else None)
            if len(words) > 1:
                raise BadInput(
                    "Use /recommend [count] [mood:NAME] [bpm:N], e.g. /recommend 5 mood:energetic."
                )
            return await service.recommend(
                user,
                count,
                options.get("mood"),
                options.get("bpm"),
                playlist=options.get("playlist"),
                notify=notify,
            )
        case "genre":
            return await service.genre(user, command.rest, notify=notify)
        case "similar":
            count = options.get("count")
            query = list(words)
            if count is None and len(query) > 1 and query[-1].isdigit() and len(query[-1]) < 4:
                count = query.pop()
            return await service.similar(user, " ".join(query), count)
        case "like" | "dislike":
            return await service.feedback(user, command.rest, 1 if command.name == "like" else -1)
        case "profile":
            if words:
                raise BadInput(
                    "Set profile fields as key:value, e.g. /profile age:34 resting_hr:58."
                )
            return await service.profile(user, options)
        case "workout":
            if len(words) > 3:
                raise BadInput(
                    "Use /workout start [goal:ZONE] [cadence:N], /workout stop or /workout status."
                )
            return await service.workout(user, words[0] if words else "", options, words[1:])
        case "link" | "unlink" if not words:
            raise BadInput(
                f"Say which account: /{command.name} spotify or /{command.name} pulsoid."
            )
        case "link" | "unlink" if words[0].lower() == "pulsoid":
            if command.name == "unlink":
                return await service.unlink_pulsoid(user)
            return await service.link_pulsoid(user, " ".join(words[1:]))
        case "link":
            return await service.link(user, words, notify=notify)
        case "unlink":
            return await service.unlink(user, words)
        case "playlist":
            return await service.playlist(user, command.rest, notify=notify)
        case "stats":
            return await service.taste_stats(user, notify=notify)
        case "digest":
            return await service.digest(user, command.rest)
        case "forget":
            return await service.forget(user)
    raise BadInput(f"/{command.name} works only in the console.")


async def handle_text(
    service: BeatmatchService,
    user: ChatUser,
    text: str,
    *,
    notify: Notify = silent,
    console: bool = False,
) -> Reply:
    """Parse and run one typed command; any failure becomes a short reply."""
    try:
        if looks_like_callback(text):  # a pasted-back OAuth address: never logged
            return await service.finish_link(user, text, notify=notify)
        command = parse_command(deep_link(text))
        return await run_command(service, user, command, notify=notify, console=console)
    except UserFacingError as error:
        return Reply(text=error.message, error=True)
    except Exception:
        return logged_apology(user)


async def guarded(user: ChatUser, call: Awaitable[Reply]) -> Reply:
    """Await one service call; a UserFacingError becomes its message, anything else an apology."""
    try:
        return await call
    except UserFacingError as error:
        return Reply(text=error.message, error=True)
    except Exception:
        return logged_apology(user)


def deep_link(text: str) -> str:
    """``/start PAYLOAD`` (a Telegram deep link) as the command it stands for; other text as is."""
    head, _, payload = text.strip().partition(" ")
    if head.split("@", 1)[0].lower() != "/start" or not payload.strip():
        return text
    return DEEP_LINKS.get(payload.strip(), "/help")


def deep_link_payload(text: str) -> str:
    """The deep-link payload that brings a user back to ``text`` in a private chat ("" if none)."""
    words = text.strip().lower().split()
    if len(words) >= 2 and words[0].split("@", 1)[0] == "/link":
        payload = f"link_{words[1]}"
        return payload if payload in DEEP_LINKS else ""
    return ""


def logged_apology(user: ChatUser) -> Reply:
    """Log the exception being handled with an incident id, and return the apology reply."""
    incident = secrets.token_hex(3)
    log.exception("incident %s while serving a %s user", incident, user.platform)
    return apology(incident)
