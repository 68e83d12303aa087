"""A fake Pulsoid on 127.0.0.1: OAuth (code and device flows), validate, latest, revoke, and the
real-time WebSocket, with knobs for the bad days (drops, silence, malformed frames, 401s).

It speaks the wire formats of shared/reference/pulsoid.md. Heart rates come from a function of
(profile, frame number); ``measured_at`` is the *device* clock, which can be set to drift, so a
client that orders by it instead of arrival is caught.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import WSMsgType, web

SCOPE = "data:heart_rate:read"
HeartFunction = Callable[[str, int], float]


@dataclass
class Grant:
    """One access token the fake has issued."""

    profile_id: str
    scopes: tuple[str, ...] = (SCOPE,)
    expires_in: int = 31_536_000
    refresh_token: str | None = None


@dataclass
class Device:
    """A device-flow authorization in progress."""

    user_code: str
    approved_profile: str | None = None
    denied: bool = False
    polls: int = 0


@dataclass
class Socket:
    """A connected real-time client."""

    token: str
    profile_id: str
    ws: web.WebSocketResponse
    sender: asyncio.Task[None] | None = None
    frames: int = 0


@dataclass
class FakePulsoid:
    """The server and its knobs; ``await start()`` returns the base URL."""

    client_id: str = "beatmatch-test-client"
    client_secret: str = "beatmatch-test-secret"
    frame_interval: float = 0.05
    device_interval: float = 0.05
    clock_skew_ms: int = -30_000  # the device clock runs 30 s behind
    heart: HeartFunction = field(default=lambda _profile, _n: 120.0)
    grants: dict[str, Grant] = field(default_factory=dict)
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # refresh → access
    codes: dict[str, tuple[str, str]] = field(default_factory=dict)  # code → (profile, redirect)
    devices: dict[str, Device] = field(default_factory=dict)
    sockets: list[Socket] = field(default_factory=list)
    latest: dict[str, tuple[int, float]] = field(default_factory=dict)
    #: Every request as (method, path with query string, had an Authorization header).
    requests: list[tuple[str, str, bool]] = field(default_factory=list)
    silent: bool = False
    malformed: int = 0
    refuse_sockets: int = 0  # refuse this many WebSocket handshakes with 503
    slow_down_polls: int = 0  # answer "slow_down" to this many device polls first
    base_url: str = ""
    _runner: web.AppRunner | None = None
    _counter: Any = field(default_factory=lambda: itertools.count(1))

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self, port: int = 0) -> str:
        """Listen on 127.0.0.1 (a free port by default)."""
        app = web.Application(middlewares=[self._record])
        app.router.add_get("/oauth2/authorize", self._authorize)
        app.router.add_post("/oauth2/token", self._token)
        app.router.add_post("/oauth2/device_authorization", self._device_authorization)
        app.router.add_post("/oauth2/revoke", self._revoke)
        app.router.add_get("/api/v1/token/validate", self._validate)
        app.router.add_get("/api/v1/data/heart_rate/latest", self._latest)
        app.router.add_get("/api/v1/data/real_time", self._real_time)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        sockets = site._server.sockets  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{sockets[0].getsockname()[1]}/"
        return self.base_url

    async def close(self) -> None:
        """Close every socket and stop listening."""
        await self.drop_connections()
        if self._runner is not None:
            await self._runner.cleanup()

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, request.path_qs, "Authorization" in request.headers))
        return await handler(request)

    # -- knobs ---------------------------------------------------------------------------------
    def issue_token(
        self,
        profile_id: str = "profile-1",
        scopes: tuple[str, ...] = (SCOPE,),
        expires_in: int = 31_536_000,
        with_refresh: bool = False,
    ) -> str:
        """A valid access token (as pulsoid.net/ui/keys would give), optionally refreshable."""
        token = secrets.token_hex(16)
        refresh = secrets.token_hex(16) if with_refresh else None
        self.grants[token] = Grant(profile_id, scopes, expires_in, refresh)
        if refresh:
            self.refresh_tokens[refresh] = token
        return token

    def revoke_token(self, token: str) -> None:
        """Make ``token`` invalid (401 from now on)."""
        grant = self.grants.pop(token, None)
        if grant and grant.refresh_token:
            self.refresh_tokens.pop(grant.refresh_token, None)

    def revoke_profile(self, profile_id: str) -> None:
        """Invalidate every token of a profile (the user revoked beatmatch at Pulsoid)."""
        for token, grant in list(self.grants.items()):
            if grant.profile_id == profile_id:
                self.revoke_token(token)

    def approve_device(self, user_code: str, profile_id: str = "profile-1") -> None:
        """The user typed ``user_code`` at pulsoid.net and allowed access."""
        for device in self.devices.values():
            if device.user_code == user_code:
                device.approved_profile = profile_id
                return
        raise KeyError(user_code)

    def deny_device(self, user_code: str) -> None:
        """The user declined."""
        for device in self.devices.values():
            if device.user_code == user_code:
                device.denied = True

    async def drop_connections(self, abort: bool = False) -> None:
        """Close every real-time socket (``abort``: cut the TCP connection, no close frame)."""
        for socket in list(self.sockets):
            if socket.sender is not None:
                socket.sender.cancel()
            if abort and socket.ws._req is not None and socket.ws._req.transport is not None:
                socket.ws._req.transport.abort()
            else:
                with contextlib.suppress(Exception):
                    await socket.ws.close()
        self.sockets.clear()

    def connected_profiles(self) -> list[str]:
        """Profiles with an open real-time socket."""
        return [s.profile_id for s in self.sockets if not s.ws.closed]

    def device_ms(self) -> int:
        """The heart-rate device's clock (skewed) in ms."""
        return int(time.time() * 1000) + self.clock_skew_ms

    # -- handlers ------------------------------------------------------------------------------
    def _grant(self, request: web.Request) -> tuple[str, Grant] | None:
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else ""
        token = token or request.query.get("access_token", "")
        grant = self.grants.get(token)
        return (token, grant) if grant else None

    @staticmethod
    def _error(status: int, code: int, message: str) -> web.Response:
        return web.json_response({"error_code": code, "error_message": message}, status=status)

    async def _authorize(self, request: web.Request) -> web.Response:
        if request.query.get("client_id") != self.client_id:
            return web.Response(status=400, text="unknown client")
        code = secrets.token_hex(8)
        redirect = request.query["redirect_uri"]
        self.codes[code] = (request.query.get("login_as", "profile-1"), redirect)
        query = urlencode({"code": code, "state": request.query.get("state", "")})
        raise web.HTTPFound(f"{redirect}?{query}")

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        grant_type = form.get("grant_type")
        if grant_type == "urn:ietf:params:oauth:grant-type:device_code":
            return self._device_token(str(form.get("device_code", "")))
        if (
            form.get("client_id") != self.client_id
            or form.get("client_secret") != self.client_secret
        ):
            return web.json_response({"error": "invalid_client"}, status=401)
        if grant_type == "authorization_code":
            found = self.codes.pop(str(form.get("code", "")), None)
            if found is None or found[1] != form.get("redirect_uri"):
                return web.json_response({"error": "invalid_grant"}, status=400)
            return self._pair(found[0])
        if grant_type == "refresh_token":
            access = self.refresh_tokens.pop(str(form.get("refresh_token", "")), None)
            if access is None:
                return web.json_response({"error": "invalid_grant"}, status=400)
            profile = self.grants.pop(access).profile_id  # the old pair dies here
            return self._pair(profile)
        return web.json_response({"error": "unsupported_grant_type"}, status=400)

    def _pair(self, profile_id: str, expires_in: int = 31_536_000) -> web.Response:
        token = self.issue_token(profile_id, expires_in=expires_in, with_refresh=True)
        grant = self.grants[token]
        return web.json_response(
            {
                "access_token": token,
                "refresh_token": grant.refresh_token,
                "expires_in": expires_in,
                "token_type": "bearer",
            }
        )

    async def _device_authorization(self, request: web.Request) -> web.Response:
        form = await request.post()
        if form.get("client_id") != self.client_id:
            return web.json_response({"error": "invalid_client"}, status=401)
        device_code = secrets.token_hex(12)
        user_code = f"{next(self._counter):04d}-BEAT"
        self.devices[device_code] = Device(user_code)
        return web.json_response(
            {
                "device_code": device_code,
                "user_code": user_code,
                "verification_uri": f"{self.base_url}activate",
                "verification_uri_complete": f"{self.base_url}activate?user_code={user_code}",
                "expires_in": 600,
                "interval": self.device_interval,
            }
        )

    def _device_token(self, device_code: str) -> web.Response:
        device = self.devices.get(device_code)
        if device is None:
            return web.json_response({"error": "expired_token"}, status=400)
        device.polls += 1
        if self.slow_down_polls > 0:
            self.slow_down_polls -= 1
            return web.json_response({"error": "slow_down"}, status=400)
        if device.denied:
            del self.devices[device_code]
            return web.json_response({"error": "access_denied"}, status=400)
        if device.approved_profile is None:
            return web.json_response({"error": "authorization_pending"}, status=400)
        del self.devices[device_code]
        return self._pair(device.approved_profile)

    async def _revoke(self, request: web.Request) -> web.Response:
        form = await request.post()
        token = str(form.get("token", ""))
        if token in self.refresh_tokens:
            self.revoke_token(self.refresh_tokens[token])
        self.revoke_token(token)
        return web.Response(status=200)

    async def _validate(self, request: web.Request) -> web.Response:
        found = self._grant(request)
        if found is None:
            return self._error(401, 7005, "token not found")
        return web.json_response(
            {
                "client_id": self.client_id,
                "expires_in": found[1].expires_in,
                "profile_id": found[1].profile_id,
                "scopes": list(found[1].scopes),
            }
        )

    async def _latest(self, request: web.Request) -> web.Response:
        found = self._grant(request)
        if found is None:
            return self._error(401, 7005, "token not found")
        reading = self.latest.get(found[1].profile_id)
        if reading is None:
            return self._error(412, 7010, "no heart rate data")
        return web.json_response({"measured_at": reading[0], "data": {"heart_rate": reading[1]}})

    async def _real_time(self, request: web.Request) -> web.StreamResponse:
        found = self._grant(request)
        if found is None:
            return self._error(401, 7005, "token not found")
        if self.refuse_sockets > 0:
            self.refuse_sockets -= 1
            return web.Response(status=503, text="try later")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        socket = Socket(found[0], found[1].profile_id, ws)
        self.sockets.append(socket)
        socket.sender = asyncio.get_running_loop().create_task(self._send(socket))
        try:
            async for message in ws:  # answers pings; the client sends nothing else
                if message.type == WSMsgType.ERROR:
                    break
        finally:
            socket.sender.cancel()
            if socket in self.sockets:
                self.sockets.remove(socket)
        return ws

    async def _send(self, socket: Socket) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            while not socket.ws.closed:
                await asyncio.sleep(self.frame_interval)
                if socket.token not in self.grants:
                    await socket.ws.close(code=4001, message=b"token revoked")
                    return
                if self.silent:
                    continue
                if self.malformed > 0:
                    self.malformed -= 1
                    await socket.ws.send_str(MALFORMED[self.malformed % len(MALFORMED)])
                    continue
                hr = float(self.heart(socket.profile_id, socket.frames))
                socket.frames += 1
                measured = self.device_ms()
                self.latest[socket.profile_id] = (measured, hr)
                await socket.ws.send_json(
                    {"measured_at": measured, "data": {"heart_rate": round(hr)}}
                )


#: Frames a buggy proxy or firmware might produce.
MALFORMED: tuple[str, ...] = (
    "not json at all",
    '{"measured_at": 1, "data": {}}',
    '{"measured_at": "yesterday", "data": {"heart_rate": 120}}',
    '{"data": {"heart_rate": "fast"}}',
    "[1, 2, 3]",
    '{"measured_at": 1, "data": {"heart_rate": -5}}',
)
