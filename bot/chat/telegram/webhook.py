"""What Telegram's webhook route lets through: only requests carrying the secret token, and only
bodies that are an Update of a kind the bot asked for, with the fields the handlers read.

Anything else is refused here — 403 without the secret, 400 for a body that is not such an
update, 413 for one over ``MAX_BODY`` — so a hostile or broken request never reaches
python-telegram-bot's handlers (where a mistyped field would become an incident) and never
costs more than one WARNING line, which quotes nothing of the request.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from aiohttp import web
from telegram import Bot, Update

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
#: The update kinds the bot subscribes to (``allowed_updates``).
UPDATES = ["message", "callback_query"]
#: Far above any real update (a message is at most 4,096 characters of text plus its entities).
MAX_BODY = 1024 * 1024

#: field → (type or nested shape, required). Only what the handlers and PTB's objects need.
Shape = dict[str, tuple[Any, bool]]
USER: Shape = {"id": (int, True), "is_bot": (bool, True), "first_name": (str, True)}
CHAT: Shape = {"id": (int, True), "type": (str, True)}
DOCUMENT: Shape = {
    "file_id": (str, True),
    "file_unique_id": (str, True),
    "file_name": (str, False),
    "mime_type": (str, False),
    "file_size": (int, False),
}
MESSAGE: Shape = {
    "message_id": (int, True),
    "date": (int, True),
    "chat": (CHAT, True),
    "from": (USER, False),
    "text": (str, False),
    "document": (DOCUMENT, False),
}
CALLBACK_QUERY: Shape = {
    "id": (str, True),
    "from": (USER, True),
    "chat_instance": (str, True),
    "data": (str, False),
    "message": (MESSAGE, False),
}
UPDATE: Shape = {
    "update_id": (int, True),
    "message": (MESSAGE, False),
    "callback_query": (CALLBACK_QUERY, False),
}


class NotAnUpdate(Exception):
    """The body is refused: ``reason`` (our own words, nothing quoted) and the HTTP status."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def has_secret(request: web.Request, secret: str) -> bool:
    """Whether the request carries the webhook's secret token (compared in constant time, as
    bytes: a header that is not ASCII is simply wrong)."""
    given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "backslashreplace")
    return hmac.compare_digest(given, secret.encode("utf-8"))


def _mismatch(value: object, shape: Shape, where: str) -> str:
    """Where ``value`` departs from ``shape`` ("" when it fits)."""
    if not isinstance(value, dict):
        return f"{where} is not an object"
    for name, (kind, required) in shape.items():
        if name not in value:
            if required:
                return f"{where}.{name} is missing"
            continue
        field = value[name]
        if isinstance(kind, dict):
            problem = _mismatch(field, kind, f"{where}.{name}")
            if problem:
                return problem
        elif not isinstance(field, kind) or (kind is int and isinstance(field, bool)):
            return f"{where}.{name} is not {'an' if kind is int else 'a'} {kind.__name__}"
    return ""


async def read_update(request: web.Request, bot: Bot) -> Update | None:
    """The Update in the request's body; None for an update of no kind the bot asked for (to
    acknowledge and drop). NotAnUpdate when the body is not such an update."""
    if (request.content_length or 0) > MAX_BODY:
        raise NotAnUpdate("the body is too large", 413)
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise NotAnUpdate("the body is too large", 413) from None
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # not JSON (or not UTF-8), or nested beyond reason
        raise NotAnUpdate("the body is not JSON") from None
    problem = _mismatch(data, UPDATE, "update")
    if problem:
        raise NotAnUpdate(problem)
    wanted = {key: data[key] for key in ("update_id", *UPDATES) if key in data}
    if len(wanted) == 1:
        return None  # only kinds the bot did not subscribe to (or none): nothing to do
    try:
        return Update.de_json(wanted, bot)
    except Exception:  # a value PTB cannot take (a date out of range, a nested part it rejects)
        raise NotAnUpdate("the update has a field python-telegram-bot cannot read") from None
