"""A fake Discord HTTP API on 127.0.0.1 for the real discord.py client to talk to.

The client logs in against it (``GET /users/@me``, ``GET /oauth2/applications/@me``), and every
answer it gives goes through it: interaction callbacks (``POST /interactions/{id}/{token}/callback``),
the original response and follow-ups (``/webhooks/{app}/{token}/…``), DMs (``POST
/users/@me/channels`` then ``POST /channels/{id}/messages``). It keeps every message sent, by id,
so a test can press a button of one (``press``): the payload is the gateway's INTERACTION_CREATE of
a component (type 3), handed to the client's own connection state, which dispatches it exactly as
it does an event read from the gateway. ``command`` does the same for a slash command (type 2).

Point discord.py at it with ``monkeypatch.setattr(discord.http.Route, "BASE", fake.api)``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import discord
from aiohttp import web

from tests.fakes import serve

APP_ID = 880000000000000001
BOT_USER = {
    "id": str(APP_ID),
    "username": "beatmatch",
    "discriminator": "0",
    "global_name": None,
    "avatar": None,
    "bot": True,
}
GUILD_ID = 880000000000000100
CHANNEL_ID = 880000000000000200


def user_payload(user_id: int, name: str = "") -> dict[str, Any]:
    """A Discord user object."""
    return {
        "id": str(user_id),
        "username": name or f"user{user_id}",
        "discriminator": "0",
        "global_name": name or None,
        "avatar": None,
    }


@dataclass
class Call:
    """One request the bot made: method, path and its JSON body (multipart ``payload_json``)."""

    method: str
    path: str
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def data(self) -> dict[str, Any]:
        """The message part: an interaction callback's ``data``, else the body itself."""
        inner = self.body.get("data")
        return inner if isinstance(inner, dict) else self.body


def custom_ids(message: dict[str, Any]) -> list[str]:
    """Every button's custom_id in a message, row by row."""
    return [
        c["custom_id"]
        for row in message.get("components") or []
        for c in row.get("components", [])
        if "custom_id" in c
    ]


class FakeDiscord:
    """The HTTP half of Discord, on loopback; ``calls`` holds what the bot sent."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.messages: dict[int, dict[str, Any]] = {}
        self._ids = itertools.count(990000000000000001)
        self._runner: web.AppRunner | None = None
        self.api = ""
        self._changed = asyncio.Condition()
        #: The message each interaction answers (a pressed button's, or its own new one), by
        #: interaction id and by token (the follow-up webhook knows only the token).
        self._by_id: dict[str, dict[str, Any]] = {}
        self._by_token: dict[str, dict[str, Any]] = {}
        self._tokens: dict[str, str] = {}

    async def start(self) -> FakeDiscord:
        """Serve on a free port; ``api`` is what ``Route.BASE`` must be."""
        app = web.Application()
        app.router.add_route("*", "/api/v10/{path:.*}", self._handle)
        self._runner, base = await serve(app)
        self.api = base + "/api/v10"
        return self

    async def close(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()

    # --- what tests do -----------------------------------------------------------------------

    def interaction(
        self, kind: int, data: dict[str, Any], user_id: int, message: dict[str, Any] | None
    ) -> dict[str, Any]:
        """An INTERACTION_CREATE payload from ``user_id`` in a guild channel."""
        payload: dict[str, Any] = {
            "id": str(next(self._ids)),
            "application_id": str(APP_ID),
            "type": kind,
            "token": f"tok{next(self._ids)}",
            "version": 1,
            "data": data,
            "guild_id": str(GUILD_ID),
            "channel_id": str(CHANNEL_ID),
            "member": {
                "user": user_payload(user_id),
                "roles": [],
                "joined_at": "2024-01-01T00:00:00+00:00",
                "deaf": False,
                "mute": False,
                "flags": 0,
                "permissions": "0",
            },
            "locale": "en-US",
            "guild_locale": "en-US",
            "app_permissions": "0",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(GUILD_ID)},
            "context": 0,
            "attachment_size_limit": 8 * 1024 * 1024,
        }
        if message is not None:
            payload["message"] = message
            self._by_id[payload["id"]] = self._by_token[payload["token"]] = message
        return payload

    def press(
        self, client: discord.Client, message: dict[str, Any], custom_id: str, user_id: int
    ) -> None:
        """``user_id`` presses the button ``custom_id`` under ``message``: the gateway event, as
        the client's connection state parses it."""
        assert custom_id in custom_ids(message), custom_id
        data = {"custom_id": custom_id, "component_type": 2}
        client._connection.parse_interaction_create(self.interaction(3, data, user_id, message))

    def command(
        self,
        client: discord.Client,
        name: str,
        user_id: int,
        subcommand: str = "",
        **options: Any,
    ) -> None:
        """``user_id`` runs the slash command ``/name [subcommand]`` with ``options`` (ints or
        strings)."""
        kinds = {int: 4, str: 3, bool: 5}
        given = [{"name": k, "type": kinds[type(v)], "value": v} for k, v in options.items()]
        if subcommand:
            given = [{"name": subcommand, "type": 1, "options": given}]
        data = {"id": str(next(self._ids)), "name": name, "type": 1, "options": given}
        client._connection.parse_interaction_create(self.interaction(2, data, user_id, None))

    async def wait_for(
        self,
        predicate: Callable[[Call], bool],
        count: int = 1,
        *,
        since: int = 0,
        timeout: float = 30.0,
    ) -> list[Call]:
        """Wait until ``count`` calls from ``calls[since]`` on match ``predicate``; return them."""

        def found() -> list[Call]:
            return [c for c in self.calls[since:] if predicate(c)]

        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: len(found()) >= count)
        return found()

    # --- the API -----------------------------------------------------------------------------

    def _message(self, body: dict[str, Any], channel_id: int, *, flags: int = 0) -> dict[str, Any]:
        message_id = next(self._ids)
        message = {
            "id": str(message_id),
            "channel_id": str(channel_id),
            "type": 0,
            "content": body.get("content") or "",
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": body.get("embeds") or [],
            "components": body.get("components") or [],
            "pinned": False,
            "timestamp": datetime.now(UTC).isoformat(),
            "edited_timestamp": None,
            "flags": int(body.get("flags") or flags),
            "author": BOT_USER,
            "application_id": str(APP_ID),
        }
        self.messages[message_id] = message
        return message

    def _edit(self, message: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        for key in ("content", "embeds", "components"):
            if key in body:
                message[key] = (
                    body[key] if body[key] is not None else ([] if key != "content" else "")
                )
        message["edited_timestamp"] = datetime.now(UTC).isoformat()
        return message

    async def _body(self, request: web.Request) -> dict[str, Any]:
        if not request.can_read_body:
            return {}
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            raw = form.get("payload_json")
            return json.loads(str(raw)) if raw is not None else {}
        text = await request.text()
        return json.loads(text) if text else {}

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["path"]
        body = await self._body(request)
        call = Call(request.method, path, body)
        answer = self._answer(call, request)
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()
        if answer is None:
            return web.Response(status=204)
        # discord.py reads JSON only when the content type is exactly this (no charset).
        return web.Response(
            body=json.dumps(answer).encode(), headers={"Content-Type": "application/json"}
        )

    def _answer(self, call: Call, request: web.Request) -> Any:
        parts = call.path.strip("/").split("/")
        method, body = call.method, call.body
        if parts == ["users", "@me"]:
            return BOT_USER
        if parts == ["oauth2", "applications", "@me"]:
            return {
                "id": str(APP_ID),
                "name": "beatmatch",
                "icon": None,
                "description": "",
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": "0" * 64,
                "flags": 0,
                "owner": user_payload(1, "owner"),
            }
        if parts[0] == "users" and len(parts) == 2 and parts[1].isdigit():
            return user_payload(int(parts[1]))
        if parts == ["users", "@me", "channels"]:
            recipient = int(body["recipient_id"])
            return {"id": str(recipient + 1), "type": 1, "recipients": [user_payload(recipient)]}
        if parts[0] == "channels" and len(parts) == 3 and parts[2] == "messages":
            return self._message(body, int(parts[1]))
        if parts[0] == "channels" and len(parts) == 4 and method == "PATCH":
            return self._edit(self.messages[int(parts[3])], body)
        if parts[0] == "interactions":
            self._tokens[parts[1]] = parts[2]
            return self._callback(body, parts[1])
        if parts[0] == "webhooks":
            return self._webhook(method, parts, body)
        return {}

    def _callback(self, body: dict[str, Any], interaction_id: str) -> Any:
        kind = body.get("type")
        data = body.get("data") or {}
        resource: dict[str, Any] = {"type": kind}
        if kind in (4, 5):  # a new message (5: "thinking…", edited later)
            message = self._message(data, CHANNEL_ID)
            resource["message"] = message
            if kind == 5 or not self._by_id.get(interaction_id):
                self._by_id[interaction_id] = message
                self._by_token[self._token_of(interaction_id)] = message
        elif kind == 7:  # the pressed button's message, updated
            resource["message"] = self._edit(self._by_id[interaction_id], data)
        return {
            "interaction": {
                "id": interaction_id,
                "type": 3,
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool(int(data.get("flags") or 0) & 64),
            },
            "resource": resource,
        }

    def _webhook(self, method: str, parts: list[str], body: dict[str, Any]) -> Any:
        token = parts[2]
        if len(parts) == 3 and method == "POST":  # a follow-up
            return self._message(body, CHANNEL_ID)
        if len(parts) == 5 and parts[4] == "@original":
            message = self._by_token.setdefault(token, self._message({}, CHANNEL_ID))
            return self._edit(message, body) if method == "PATCH" else message
        if len(parts) == 5 and method == "PATCH":
            return self._edit(self.messages[int(parts[4])], body)
        return {}

    def _token_of(self, interaction_id: str) -> str:
        return self._tokens[interaction_id]
