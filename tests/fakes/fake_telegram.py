"""A fake Telegram Bot API on 127.0.0.1 for the real python-telegram-bot to talk to.

It speaks the wire format PTB uses — ``POST /bot<token>/<method>`` with form-encoded or multipart
bodies (values JSON-encoded except strings), answers ``{"ok": true, "result": …}`` — and serves
files at ``/file/bot<token>/<path>``. Tests queue updates (``getUpdates`` long-polls for them),
then wait for the calls the bot makes; it keeps the text of each message sent, so editing one to
the same text fails as Telegram's does ("message is not modified") and a deleted one is gone. Knobs: chats that block the bot (403) and one-off failures.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes import serve

BOT_ID = 999000
BOT_USERNAME = "beatmatch_test_bot"
#: Parameters PTB JSON-encodes; every other value is a plain string (a text "5" stays "5").
JSON_FIELDS = {
    "chat_id",
    "message_id",
    "offset",
    "limit",
    "timeout",
    "reply_markup",
    "allowed_updates",
    "commands",
    "show_alert",
    "link_preview_options",
    "reply_parameters",
    "drop_pending_updates",
    "max_connections",
}
BOT_USER = {"id": BOT_ID, "is_bot": True, "first_name": "beatmatch", "username": BOT_USERNAME}


@dataclass
class Call:
    """One Bot API call the bot made: its method, decoded parameters and uploaded files."""

    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The message text (or caption) sent."""
        return str(self.params.get("text") or self.params.get("caption") or "")

    @property
    def callback_data(self) -> list[str]:
        """Every callback_data of the inline keyboard sent with the message."""
        markup = self.params.get("reply_markup") or {}
        return [
            b["callback_data"]
            for row in markup.get("inline_keyboard", [])
            for b in row
            if "callback_data" in b
        ]

    @property
    def button_urls(self) -> list[str]:
        """Every URL button of the inline keyboard."""
        markup = self.params.get("reply_markup") or {}
        return [b["url"] for row in markup.get("inline_keyboard", []) for b in row if "url" in b]


@dataclass
class FakeTelegram:
    """The server. ``token`` is the only token it accepts."""

    token: str = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz"
    calls: list[Call] = field(default_factory=list)
    blocked_chats: set[int] = field(default_factory=set)
    base: str = ""
    _updates: list[dict[str, Any]] = field(default_factory=list)
    _files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    #: (chat id, message id) → text of every message the bot sent and has not deleted.
    messages: dict[tuple[int, int], str] = field(default_factory=dict)
    _failures: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    #: Methods answered "502 Bad Gateway" for as long as they are listed (an outage).
    down: set[str] = field(default_factory=set)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _changed: asyncio.Condition | None = None
    _closing: bool = False
    _runner: web.AppRunner | None = None

    # -- serving --------------------------------------------------------------------------------
    async def start(self) -> str:
        """Serve on a free loopback port; returns the base address."""
        self._changed = asyncio.Condition()
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self.api)
        app.router.add_get("/file/bot{token}/{path:.+}", self.download)
        self._runner, self.base = await serve(app)
        return self.base

    async def stop(self) -> None:
        """Wake long polls and stop serving."""
        self._closing = True
        await self._notify()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        """What to set telegram.base_url to."""
        return f"{self.base}/bot"

    @property
    def base_file_url(self) -> str:
        """What to set telegram.base_file_url to."""
        return f"{self.base}/file/bot"

    async def _notify(self) -> None:
        assert self._changed is not None
        async with self._changed:
            self._changed.notify_all()

    # -- what tests do --------------------------------------------------------------------------
    async def send_update(self, update: dict[str, Any]) -> int:
        """Queue an update for getUpdates; returns its update_id."""
        update_id = next(self._ids)
        self._updates.append({"update_id": update_id, **update})
        await self._notify()
        return update_id

    def add_file(self, data: bytes, path: str = "documents/file.csv") -> str:
        """Make ``data`` downloadable through getFile; returns its file_id."""
        file_id = f"file-{len(self._files) + 1}"
        self._files[file_id] = (path, data)
        return file_id

    def fail(self, method: str, status: int = 400, description: str = "Bad Request: test") -> None:
        """The next call of ``method`` fails with ``status``."""
        self._failures.setdefault(method, []).append((status, description))

    def sent(self, method: str) -> list[Call]:
        """Every call of ``method`` so far."""
        return [c for c in self.calls if c.method == method]

    async def wait_for(
        self,
        method: str,
        where: Callable[[Call], bool] = lambda _: True,
        after: int = 0,
        timeout: float = 20.0,
    ) -> Call:
        """The first call of ``method`` (from index ``after``) that satisfies ``where``."""
        assert self._changed is not None

        def found() -> Call | None:
            return next((c for c in self.calls[after:] if c.method == method and where(c)), None)

        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: found() is not None), timeout)
        call = found()
        assert call is not None
        return call

    # -- the API --------------------------------------------------------------------------------
    async def api(self, request: web.Request) -> web.Response:
        """Every Bot API method."""
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        params, files = await _decode(request)
        call = Call(method, params, files)
        if method != "getUpdates":
            self.calls.append(call)
            await self._notify()
        if method in self.down:
            return _error(502, "Bad Gateway")
        if self._failures.get(method):
            status, description = self._failures[method].pop(0)
            return _error(status, description)
        chat_id = params.get("chat_id")
        if method.startswith("send") and isinstance(chat_id, int) and chat_id in self.blocked_chats:
            return _error(403, "Forbidden: bot can't initiate conversation with a user")
        handler = getattr(self, f"_{method}", None)
        if handler is None:
            return _error(404, "Not Found: method not found")
        result = await handler(call)
        if isinstance(result, web.Response):
            return result  # the method's own error
        return web.json_response({"ok": True, "result": result})

    async def download(self, request: web.Request) -> web.Response:
        """A file by the path getFile gave."""
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        for path, data in self._files.values():
            if path == request.match_info["path"]:
                return web.Response(body=data)
        return web.Response(status=404)

    async def _getMe(self, call: Call) -> dict[str, Any]:
        return {
            **BOT_USER,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _getUpdates(self, call: Call) -> list[dict[str, Any]]:
        offset = int(call.params.get("offset") or 0)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        wait = min(float(call.params.get("timeout") or 0), 1.0)
        assert self._changed is not None
        if not self._updates and wait > 0 and not self._closing:
            async with self._changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._changed.wait_for(lambda: bool(self._updates) or self._closing), wait
                    )
        return list(self._updates)

    def _message(self, call: Call, **extra: Any) -> dict[str, Any]:
        chat_id = int(call.params.get("chat_id") or 0)
        message = {
            "message_id": 10_000 + len(self.calls),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group", "title": "g"},
            "from": BOT_USER,
            **extra,
        }
        if call.params.get("reply_markup"):
            message["reply_markup"] = call.params["reply_markup"]
        return message

    async def _sendMessage(self, call: Call) -> dict[str, Any]:
        message = self._message(call, text=call.params.get("text", ""))
        self.messages[(message["chat"]["id"], message["message_id"])] = message["text"]
        return message

    async def _editMessageText(self, call: Call) -> dict[str, Any] | web.Response:
        message = self._message(call, text=call.params.get("text", ""))
        message["message_id"] = int(call.params.get("message_id") or 0)
        key = (message["chat"]["id"], message["message_id"])
        if self.messages.get(key) == message["text"] and not call.params.get("reply_markup"):
            return _error(
                400,
                "Bad Request: message is not modified: specified new message content and "
                "reply markup are exactly the same as a current content and reply markup of "
                "the message",
            )
        self.messages[key] = message["text"]
        return message

    async def _editMessageReplyMarkup(self, call: Call) -> dict[str, Any] | web.Response:
        """A new inline keyboard for a sent message (none given: the keyboard is removed)."""
        key = (int(call.params.get("chat_id") or 0), int(call.params.get("message_id") or 0))
        if key not in self.messages:
            return _error(400, "Bad Request: message to edit not found")
        message = self._message(call, text=self.messages[key])
        message["message_id"] = key[1]
        return message

    async def _deleteMessage(self, call: Call) -> bool | web.Response:
        key = (int(call.params.get("chat_id") or 0), int(call.params.get("message_id") or 0))
        if self.messages.pop(key, None) is None:
            return _error(400, "Bad Request: message to delete not found")
        return True

    async def _sendPhoto(self, call: Call) -> dict[str, Any]:
        size = {"file_id": "photo-1", "file_unique_id": "p1", "width": 1100, "height": 550}
        return self._message(call, photo=[size], caption=call.params.get("caption", ""))

    async def _sendDocument(self, call: Call) -> dict[str, Any]:
        document = {"file_id": "doc-1", "file_unique_id": "d1", "file_name": "file"}
        return self._message(call, document=document)

    async def _getFile(self, call: Call) -> dict[str, Any]:
        file_id = str(call.params.get("file_id"))
        path, data = self._files[file_id]
        return {
            "file_id": file_id,
            "file_unique_id": file_id,
            "file_size": len(data),
            "file_path": path,
        }

    async def _getWebhookInfo(self, call: Call) -> dict[str, Any]:
        return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}

    async def _true(self, call: Call) -> bool:
        return True

    _sendChatAction = _answerCallbackQuery = _setMyCommands = _true
    _deleteWebhook = _setWebhook = _deleteMyCommands = _true


async def _decode(request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Parameters (JSON fields decoded) and uploaded files of a Bot API request."""
    params: dict[str, Any] = {}
    files: dict[str, bytes] = {}
    if request.content_type == "application/json":
        return dict(await request.json()), files
    form = await request.post()
    for name, value in form.items():
        if isinstance(value, web.FileField):
            files[name] = value.file.read()
        elif name in JSON_FIELDS:
            params[name] = json.loads(value)
        else:
            params[name] = value
    return params, files


def _error(status: int, description: str) -> web.Response:
    return web.json_response(
        {"ok": False, "error_code": status, "description": description}, status=status
    )


# -- updates as Telegram sends them ------------------------------------------------------------
def user(user_id: int, first_name: str = "Ann", username: str = "") -> dict[str, Any]:
    """A Telegram user object (with a @username when given)."""
    body: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    return body | ({"username": username} if username else {})


def chat(chat_id: int, kind: str = "private") -> dict[str, Any]:
    """A chat object (a group when ``kind`` is "group")."""
    return {"id": chat_id, "type": kind, **({"title": "Runners"} if kind != "private" else {})}


def message(
    text: str,
    user_id: int = 1001,
    chat_id: int | None = None,
    kind: str = "private",
    message_id: int = 1,
    first_name: str = "Ann",
    username: str = "",
) -> dict[str, Any]:
    """An update with a text message (a leading /command gets its bot_command entity)."""
    body: dict[str, Any] = {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": chat(chat_id if chat_id is not None else user_id, kind),
        "from": user(user_id, first_name, username),
        "text": text,
    }
    if text.startswith("/"):
        body["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"message": body}


def document(
    file_id: str, file_name: str, size: int, user_id: int = 1001, mime_type: str = "text/csv"
) -> dict[str, Any]:
    """An update with a document (a file upload) in the user's private chat."""
    return {
        "message": {
            "message_id": 2,
            "date": int(time.time()),
            "chat": chat(user_id),
            "from": user(user_id),
            "document": {
                "file_id": file_id,
                "file_unique_id": file_id + "-u",
                "file_name": file_name,
                "mime_type": mime_type,
                "file_size": size,
            },
        }
    }


def callback(
    data: str,
    user_id: int = 1001,
    message_id: int = 10_001,
    chat_id: int | None = None,
    kind: str = "private",
    first_name: str = "Ann",
    username: str = "",
) -> dict[str, Any]:
    """An update for a pressed inline-keyboard button under one of the bot's messages (in the
    presser's private chat unless ``chat_id``/``kind`` say which chat the message is in)."""
    return {
        "callback_query": {
            "id": f"cb-{message_id}-{data}",
            "from": user(user_id, first_name, username),
            "chat_instance": "ci-1",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": chat(chat_id if chat_id is not None else user_id, kind),
                "from": BOT_USER,
                "text": "recommendations",
            },
        }
    }
