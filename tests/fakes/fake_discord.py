"""A fake Discord HTTP API on 127.0.0.1 for the real discord.py to talk to, and the gateway's
INTERACTION_CREATE payloads a test hands to the bot's ConnectionState as the gateway would.

It answers the REST routes beatmatch uses — login (``GET /users/@me``, the application), DMs
(``POST /users/@me/channels``, ``POST/PATCH /channels/{id}/messages``), ``GET /users/{id}``, and
the interaction routes (``POST /interactions/{id}/{token}/callback``, the webhook's
``@original`` message and follow-ups) — with JSON or multipart (``payload_json``) bodies, and
records every request, so tests count HTTP calls and read what was sent. It keeps every message
the bot sent, by id, edits included (a PATCH, an interaction's UPDATE_MESSAGE), so a test can
press a button under one (``component_interaction``) and read the message as a user sees it.
Knobs: users whose privacy settings refuse DMs (403, code 50007) and users Discord no longer
knows (400, 50033). discord.py is pointed here by setting ``discord.http.Route.BASE`` (see
``api_base``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes import serve

TOKEN = "fake-discord-bot-token"
APP_ID = 555000111222333444
BOT_ID = APP_ID
BOT_USER = {
    "id": str(BOT_ID),
    "username": "beatmatch",
    "discriminator": "0",
    "global_name": "beatmatch",
    "avatar": None,
    "bot": True,
}
EPHEMERAL = 64


def user_payload(user_id: int, name: str = "Ann") -> dict[str, Any]:
    """A Discord user object."""
    return {
        "id": str(user_id),
        "username": name.lower(),
        "discriminator": "0",
        "global_name": name,
        "avatar": None,
    }


@dataclass
class Request:
    """One HTTP request the bot made: method, path (after the API base) and its JSON body."""

    method: str
    path: str
    body: dict[str, Any] = field(default_factory=dict)
    files: int = 0

    @property
    def content(self) -> str:
        """The message content sent (or "")."""
        data = self.body.get("data", self.body) if "type" in self.body else self.body
        return str((data or {}).get("content") or "")

    @property
    def embeds(self) -> list[dict[str, Any]]:
        """The embeds sent."""
        data = self.body.get("data", self.body) if "type" in self.body else self.body
        return list((data or {}).get("embeds") or [])

    @property
    def data(self) -> dict[str, Any]:
        """The message part: an interaction callback's ``data``, else the body itself."""
        inner = self.body.get("data")
        return inner if isinstance(inner, dict) and "type" in self.body else self.body

    @property
    def custom_ids(self) -> list[str]:
        """Every component custom_id sent with the message."""
        return custom_ids(self.data)


def custom_ids(message: dict[str, Any]) -> list[str]:
    """Every component's custom_id in a message (or a message body), row by row."""
    return [
        item["custom_id"]
        for row in message.get("components") or []
        for item in row.get("components", [])
        if "custom_id" in item
    ]


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Every button of a message, row by row (label, custom_id, disabled…)."""
    return [item for row in message.get("components") or [] for item in row.get("components", [])]


@dataclass
class FakeDiscord:
    """The server; ``refusing`` users' DMs fail with 50007, ``unknown`` users cannot be reached."""

    refusing: set[int] = field(default_factory=set)
    unknown: set[int] = field(default_factory=set)
    requests: list[Request] = field(default_factory=list)
    base: str = ""
    _runner: web.AppRunner | None = None
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(10**17))
    _changed: asyncio.Condition | None = None
    _dm_of: dict[int, int] = field(default_factory=dict)  # DM channel id → recipient
    #: Every message the bot sent, by id, as it is now (edits applied).
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: The message each interaction answers (a pressed button's, or its own response), by
    #: interaction id and by token (the webhook routes know only the token).
    _by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    _by_token: dict[str, dict[str, Any]] = field(default_factory=dict)

    async def start(self) -> str:
        """Serve on a free loopback port; returns the API base (what Route.BASE becomes)."""
        app = web.Application()
        app.router.add_route("*", "/api/v10/{path:.*}", self.api)
        self._changed = asyncio.Condition()
        self._runner, self.base = await serve(app)
        return self.api_base

    async def stop(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_base(self) -> str:
        """The base URL discord.py's routes are built on."""
        return f"{self.base}/api/v10"

    def snowflake(self) -> int:
        """A fresh id."""
        return next(self._ids)

    def calls(self, method: str, prefix: str) -> list[Request]:
        """Requests with ``method`` whose path starts with ``prefix``."""
        return [r for r in self.requests if r.method == method and r.path.startswith(prefix)]

    async def wait_for(self, found: Callable[[list[Request]], Any], timeout: float = 60.0) -> Any:
        """Wait until ``found(requests)`` is truthy (what the bot sends comes from its tasks)."""
        assert self._changed is not None

        async def until() -> Any:
            assert self._changed is not None
            async with self._changed:
                while not (result := found(self.requests)):
                    await self._changed.wait()
                return result

        return await asyncio.wait_for(until(), timeout)

    async def _body(self, request: web.Request) -> tuple[dict[str, Any], int]:
        if request.content_type.startswith("multipart/"):
            body: dict[str, Any] = {}
            files = 0
            reader = await request.multipart()
            async for part in reader:
                if part.name == "payload_json":
                    body = json.loads(await part.text())  # type: ignore[union-attr]
                else:
                    files += 1
                    await part.read()  # type: ignore[union-attr]
            return body, files
        if request.can_read_body:
            raw = await request.read()
            return (json.loads(raw) if raw else {}), 0
        return {}, 0

    def with_buttons(self, prefix: str) -> list[dict[str, Any]]:
        """The messages whose buttons' custom_ids start with ``prefix``, oldest first."""
        return [
            m for m in self.messages.values() if any(c.startswith(prefix) for c in custom_ids(m))
        ]

    def edit(self, message: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        """Apply an edit's ``body`` to a kept ``message`` (what is not given stays)."""
        for key in ("content", "embeds", "components"):
            if key in body:
                message[key] = (
                    body[key] if body[key] is not None else ("" if key == "content" else [])
                )
        message["edited_timestamp"] = "2026-01-01T00:00:01+00:00"
        return message

    def message(self, channel_id: int, body: dict[str, Any], message_id: int = 0) -> dict[str, Any]:
        """A message object as Discord returns it for what was sent (and kept, by id); an
        existing ``message_id`` is edited."""
        if message_id in self.messages:
            return self.edit(self.messages[message_id], body)
        message = {
            "id": str(message_id or self.snowflake()),
            "channel_id": str(channel_id),
            "author": BOT_USER,
            "content": body.get("content") or "",
            "timestamp": "2026-01-01T00:00:00+00:00",
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": body.get("embeds") or [],
            "components": body.get("components") or [],
            "pinned": False,
            "type": 0,
            "flags": int(body.get("flags") or 0),
            "application_id": str(APP_ID),
        }
        self.messages[int(message["id"])] = message
        return message

    async def api(self, request: web.Request) -> web.Response:
        """Every route: record the request, answer as Discord does."""
        path = "/" + request.match_info["path"]
        body, files = await self._body(request)
        self.requests.append(Request(request.method, path, body, files))
        try:
            return self._answer(request.method, path, body)
        finally:
            assert self._changed is not None
            async with self._changed:
                self._changed.notify_all()

    def _answer(self, method: str, path: str, body: dict[str, Any]) -> web.Response:
        parts = path.strip("/").split("/")
        if method == "GET" and path == "/users/@me":
            return _json(BOT_USER)
        if method == "GET" and path == "/oauth2/applications/@me":
            return _json(
                {
                    "id": str(APP_ID),
                    "name": "beatmatch",
                    "description": "",
                    "icon": None,
                    "bot_public": True,
                    "bot_require_code_grant": False,
                    "owner": user_payload(1, "Operator"),
                    "verify_key": "0" * 64,
                    "flags": 0,
                }
            )
        if method == "POST" and path == "/users/@me/channels":
            recipient = int(body["recipient_id"])
            if recipient in self.unknown:
                return _error(400, 50033, "Invalid Recipient(s)")
            channel = next((c for c, u in self._dm_of.items() if u == recipient), 0)
            channel = channel or self.snowflake()
            self._dm_of[channel] = recipient
            return _json(
                {
                    "id": str(channel),
                    "type": 1,
                    "last_message_id": None,
                    "recipients": [user_payload(recipient)],
                }
            )
        if method == "GET" and parts[0] == "users":
            user = int(parts[1])
            if user in self.unknown:
                return _error(404, 10013, "Unknown User")
            return _json(user_payload(user))
        if parts[0] == "channels" and parts[2:3] == ["messages"]:
            channel = int(parts[1])
            if self._dm_of.get(channel) in self.refusing:
                return _error(403, 50007, "Cannot send messages to this user")
            message_id = int(parts[3]) if len(parts) > 3 else 0
            return _json(self.message(channel, body, message_id))
        if method == "POST" and parts[0] == "interactions":
            return _json(self._callback(parts[1], parts[2], body))
        if parts[0] == "webhooks" and method in ("POST", "PATCH", "GET"):
            return _json(self._webhook(method, parts, body))
        return _error(404, 0, f"the fake has no {method} {path}")

    def _callback(self, interaction_id: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
        """An interaction response: 4/5 make the response message, 7 edits the pressed one."""
        kind = int(body.get("type", 0))
        data = body.get("data") or {}
        resource: dict[str, Any] = {"type": kind}
        if kind in (4, 5):
            message = self.message(1, data)
            resource["message"] = message
            if kind == 5 or interaction_id not in self._by_id:
                self._by_id[interaction_id] = self._by_token[token] = message
        elif kind == 7 and interaction_id in self._by_id:
            resource["message"] = self.edit(self._by_id[interaction_id], data)
        return {
            "interaction": {
                "id": interaction_id,
                "type": 2,
                "response_message_id": resource.get("message", {}).get("id"),
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool(int(data.get("flags") or 0) & EPHEMERAL),
            },
            "resource": resource,
        }

    def _webhook(self, method: str, parts: list[str], body: dict[str, Any]) -> dict[str, Any]:
        """Follow-ups (POST), the original response (``@original``) and a follow-up's edit."""
        token = parts[2]
        if len(parts) == 3 and method == "POST":
            return self.message(1, body)
        if len(parts) == 5 and parts[4] == "@original":
            message = self._by_token.get(token) or self.message(1, {})
            self._by_token[token] = message
            return self.edit(message, body) if method == "PATCH" else message
        if len(parts) == 5:
            return self.message(1, body, int(parts[4]))
        return self.message(1, body)


def _json(data: object, status: int = 200) -> web.Response:
    """A JSON answer with exactly Discord's content type (discord.py compares it as a string)."""
    return web.Response(
        body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"}
    )


def _error(status: int, code: int, message: str) -> web.Response:
    return _json({"code": code, "message": message}, status=status)


def command_interaction(
    fake: FakeDiscord,
    name: str,
    options: list[dict[str, Any]] | None = None,
    *,
    user_id: int,
    kind: int = 2,
    guild_id: int = 0,
    user_install: bool = False,
    group_dm: bool = False,
) -> dict[str, Any]:
    """An INTERACTION_CREATE payload: slash command ``name`` (``kind`` 2) or its autocomplete
    (4), from ``user_id`` in a server (``guild_id``; the bot added to the server, or with
    ``user_install`` only to the user's account) or in the bot's DM (user install, context 1),
    as the gateway delivers it; ``group_dm``: in a group DM (a private channel, context 2)."""
    data = {"id": str(fake.snowflake()), "name": name, "type": 1, "options": options or []}
    return interaction(
        fake,
        kind,
        data,
        user_id=user_id,
        guild_id=guild_id,
        user_install=user_install,
        group_dm=group_dm,
    )


def component_interaction(
    fake: FakeDiscord,
    message: dict[str, Any],
    custom_id: str,
    *,
    user_id: int,
    guild_id: int = 0,
) -> dict[str, Any]:
    """An INTERACTION_CREATE payload: ``user_id`` presses the button ``custom_id`` under the kept
    ``message`` (type 3), in a server (``guild_id``) or a DM. The fake remembers which message
    the interaction answers, so an UPDATE_MESSAGE response (7) edits it."""
    assert custom_id in custom_ids(message), (custom_id, custom_ids(message))
    data = {"custom_id": custom_id, "component_type": 2}
    payload = interaction(fake, 3, data, user_id=user_id, guild_id=guild_id)
    payload["message"] = message
    fake._by_id[payload["id"]] = fake._by_token[payload["token"]] = message
    return payload


def interaction(
    fake: FakeDiscord,
    kind: int,
    data: dict[str, Any],
    *,
    user_id: int,
    guild_id: int = 0,
    user_install: bool = False,
    group_dm: bool = False,
) -> dict[str, Any]:
    """An INTERACTION_CREATE payload of ``kind`` with ``data``, from ``user_id`` in a server
    (``guild_id``), the bot's DM or a group DM (see ``command_interaction``)."""
    user = user_payload(user_id)
    payload: dict[str, Any] = {
        "id": str(fake.snowflake()),
        "application_id": str(APP_ID),
        "type": kind,
        "token": f"interaction-token-{fake.snowflake()}",
        "version": 1,
        "data": data,
        "locale": "en-GB",
        "app_permissions": "0",
        "entitlements": [],
        "attachment_size_limit": 10 * 1024 * 1024,
    }
    if guild_id:
        channel = {
            "id": str(fake.snowflake()),
            "type": 0,
            "guild_id": str(guild_id),
            "name": "music",
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
            "rate_limit_per_user": 0,
            "topic": None,
            "last_message_id": None,
            "flags": 0,
        }
        payload |= {
            "guild_id": str(guild_id),
            "guild_locale": "en-GB",
            "channel_id": channel["id"],
            "channel": channel,
            "member": {
                "user": user,
                "roles": [],
                "joined_at": "2025-01-01T00:00:00+00:00",
                "deaf": False,
                "mute": False,
                "flags": 0,
                "permissions": "0",
            },
            "authorizing_integration_owners": (
                {"1": str(user_id)} if user_install else {"0": str(guild_id)}
            ),
            "context": 0,
        }
    else:
        channel = {"id": str(fake.snowflake()), "type": 3 if group_dm else 1, "recipients": [user]}
        if group_dm:
            channel |= {"name": "running club", "owner_id": str(user_id), "icon": None}
        payload |= {
            "channel_id": channel["id"],
            "channel": channel,
            "user": user,
            "authorizing_integration_owners": {"1": str(user_id)},
            "context": 2 if group_dm else 1,
        }
    return payload


def guild_payload(guild_id: int, voice: dict[int, list[int]]) -> dict[str, Any]:
    """A GUILD_CREATE payload: a server with one voice channel per key of ``voice`` and the users
    listed in it connected there (their member objects and voice states)."""
    users = [u for ids in voice.values() for u in ids]
    member = {
        "roles": [],
        "joined_at": "2025-01-01T00:00:00+00:00",
        "deaf": False,
        "mute": False,
        "flags": 0,
    }
    return {
        "id": str(guild_id),
        "name": "listening party",
        "icon": None,
        "owner_id": str(users[0] if users else 1),
        "unavailable": False,
        "member_count": len(users),
        "roles": [],
        "emojis": [],
        "stickers": [],
        "features": [],
        "threads": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "presences": [],
        "channels": [
            {
                "id": str(channel),
                "type": 2,
                "name": f"voice {n}",
                "position": n,
                "permission_overwrites": [],
                "bitrate": 64000,
                "user_limit": 0,
                "parent_id": None,
            }
            for n, channel in enumerate(voice)
        ],
        "members": [member | {"user": user_payload(u, f"User{u}")} for u in users],
        "voice_states": [
            {
                "user_id": str(u),
                "channel_id": str(channel),
                "session_id": f"s{u}",
                "deaf": False,
                "mute": False,
                "self_deaf": False,
                "self_mute": False,
                "self_video": False,
                "suppress": False,
                "request_to_speak_timestamp": None,
            }
            for channel, ids in voice.items()
            for u in ids
        ],
    }
