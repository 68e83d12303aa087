"""A fake Spotify on 127.0.0.1 that holds the real clients to the 2026 Web API.

Accounts (``/authorize``, ``/api/token``: code + PKCE, refresh with rotation, ``invalid_grant``) and
the Web API under ``/v1/``: ``/me``, saved tracks, top lists, ``/me/playlists`` (GET and POST),
``/playlists/{id}/items`` (GET and POST, owners and collaborators only; creating a playlist needs
``playlist-modify-private``, or ``playlist-modify-public`` for a public one), search (limit ≤ 10,
offset ≤ 1000), single ``/tracks/{id}``, ``POST /me/player/queue`` (204; 403 without the
``user-modify-playback-state`` scope, 403 PREMIUM_REQUIRED, 404 NO_ACTIVE_DEVICE). What 2026 removed answers 403/404: batch ``/tracks``,
``/audio-features`` (unless ``legacy``), ``/playlists/{id}/tracks``, ``/users/{id}/playlists``,
``/recommendations``. Paging objects carry absolute ``next`` URLs on this server; playlist entries
use the ``items``/``item`` envelope. Knobs: latency, 429 with Retry-After (optionally
QUOTA_EXCEEDED), 5xx, malformed JSON, expired or revoked access tokens, revoked refresh tokens;
every request is recorded (without its headers).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from tests.fakes import serve
from tests.fakes.spotify_data import URI, FakeUser, SpotifyCatalog

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
RANGES = ("short_term", "medium_term", "long_term")


def api_error(status: int, message: str, reason: str | None = None) -> web.Response:
    """Spotify's error body: ``{"error": {"status", "message"[, "reason"]}}``."""
    error: dict[str, Any] = {"status": status, "message": message}
    if reason:
        error["reason"] = reason
    return web.json_response({"error": error}, status=status)


def oauth_error(error: str, description: str) -> web.Response:
    """The accounts service's error body."""
    return web.json_response({"error": error, "error_description": description}, status=400)


@dataclass
class Knob:
    """A scripted misbehaviour for the next ``times`` API requests whose path starts with
    ``path``."""

    times: int
    status: int = 429
    retry_after: float = 1.0
    reason: str | None = None
    garble: bool = False
    path: str = "/v1/"


@dataclass
class FakeSpotify:
    """The server and its knobs; ``await start()`` returns the base URL."""

    catalog: SpotifyCatalog = field(default_factory=SpotifyCatalog)
    client_id: str = "beatmatch-test-client"
    client_secret: str = "beatmatch-test-secret"
    latency: float = 0.0
    #: Awaited before each request is answered (a test holds chosen requests until it says so).
    hold: Callable[[web.Request], Awaitable[None]] | None = None
    legacy: bool = False
    expires_in: int = 3600
    rotate_refresh: bool = True
    deny: bool = False
    users: dict[str, FakeUser] = field(default_factory=dict)
    approve_as: str = ""
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    grants: list[str] = field(default_factory=list)
    timeline: list[tuple[float, str]] = field(default_factory=list)
    max_in_flight: int = 0
    base: str = ""
    _knobs: list[Knob] = field(default_factory=list)
    _codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    _access: dict[str, tuple[str, float]] = field(default_factory=dict)
    _refresh: dict[str, str] = field(default_factory=dict)
    _scopes: dict[str, str] = field(default_factory=dict)  # token (access or refresh) → scope
    _in_flight: int = 0
    _runner: web.AppRunner | None = None

    # -- lifecycle and knobs --------------------------------------------------------------------
    async def start(self) -> str:
        """Serve on 127.0.0.1 (a free port); returns the base URL."""
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/authorize", self.authorize)
        app.router.add_post("/api/token", self.token)
        app.router.add_route("*", "/v1/{path:.*}", self.api)
        self._runner, self.base = await serve(app)
        return self.base

    async def stop(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def accounts_base(self) -> str:
        """What to set spotify.accounts_base to."""
        return self.base + "/"

    @property
    def api_base(self) -> str:
        """What to set spotify.api_base to."""
        return self.base + "/v1/"

    def add_user(self, user: FakeUser) -> FakeUser:
        """Register an account (the first one approves authorisations unless ``approve_as``)."""
        self.users[user.user_id] = user
        self.approve_as = self.approve_as or user.user_id
        return user

    def throttle(
        self,
        times: int = 1,
        retry_after: float = 1.0,
        reason: str | None = None,
        path: str = "/v1/",
    ) -> None:
        """The next ``times`` API calls (to paths starting with ``path``) get 429 with
        Retry-After."""
        self._knobs.append(Knob(times, 429, retry_after, reason, path=path))

    def fail(self, times: int = 1, status: int = 503, path: str = "/v1/") -> None:
        """The next ``times`` API calls (to paths starting with ``path``) get ``status`` (a 5xx,
        or any error status) with Spotify's error body."""
        self._knobs.append(Knob(times, status, path=path))

    def garble(self, times: int = 1) -> None:
        """The next ``times`` API calls get 200 with a body that isn't JSON."""
        self._knobs.append(Knob(times, 200, garble=True))

    def revoke_all(self) -> None:
        """Every refresh token stops working (the user removed the app)."""
        self._refresh.clear()

    def expire_access_tokens(self) -> None:
        """Every access token is expired now."""
        self._access = {t: (u, 0.0) for t, (u, _) in self._access.items()}

    def revoke_access_tokens(self) -> None:
        """Every access token issued so far is refused (401) from now on, though it has not expired
        (a server-side revocation); refresh tokens keep working and new access tokens are valid."""
        self._access.clear()

    def calls(self, prefix: str = "/v1/") -> list[tuple[str, str, dict[str, str]]]:
        """Recorded (method, path, query) of requests whose path starts with ``prefix``."""
        return [r for r in self.requests if r[1].startswith(prefix)]

    # -- plumbing -------------------------------------------------------------------------------
    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.requests.append((request.method, request.path, dict(request.query)))
        self.timeline.append((time.monotonic(), request.path))
        self._in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            if self.hold is not None:
                await self.hold(request)
            knob = next((k for k in self._knobs if request.path.startswith(k.path)), None)
            if request.path.startswith("/v1/") and knob is not None:
                knob.times -= 1
                if knob.times <= 0:
                    self._knobs.remove(knob)
                if knob.garble:
                    return web.Response(text="{not json", content_type="application/json")
                response = api_error(knob.status, "scripted failure", knob.reason)
                if knob.status == 429:
                    response.headers["Retry-After"] = f"{knob.retry_after:g}"
                return response
            return await handler(request)
        finally:
            self._in_flight -= 1

    def _user(self, request: web.Request) -> FakeUser | None:
        header = request.headers.get("Authorization", "")
        grant = self._access.get(header.removeprefix("Bearer ").strip())
        if grant is None or grant[1] < time.time():
            return None
        return self.users.get(grant[0])

    def _issue(self, user_id: str, scope: str, refresh: bool = True) -> dict[str, Any]:
        access = "acc-" + secrets.token_urlsafe(18)
        self._access[access] = (user_id, time.time() + self.expires_in)
        self._scopes[access] = scope
        body: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": scope,
        }
        if refresh:
            token = "ref-" + secrets.token_urlsafe(18)
            self._refresh[token] = user_id
            self._scopes[token] = scope
            body["refresh_token"] = token
        return body

    # -- accounts ------------------------------------------------------------------------------
    async def authorize(self, request: web.Request) -> web.Response:
        """The consent page, approved at once as ``approve_as`` (or denied when ``deny``)."""
        q = request.query
        redirect = q.get("redirect_uri", "")
        host = urlsplit(redirect).hostname or ""
        if q.get("client_id") != self.client_id:
            return web.Response(status=400, text="INVALID_CLIENT: Invalid client")
        if host == "localhost" or not (redirect.startswith("https://") or host == "127.0.0.1"):
            return web.Response(status=400, text="INVALID_CLIENT: Insecure redirect URI")
        if q.get("response_type") != "code" or q.get("code_challenge_method") != "S256":
            return web.Response(status=400, text="unsupported_response_type")
        if not q.get("code_challenge"):
            return web.Response(status=400, text="code_challenge required")
        back = {"state": q["state"]} if "state" in q else {}
        if self.deny:
            raise web.HTTPFound(f"{redirect}?{urlencode({'error': 'access_denied', **back})}")
        code = "code-" + secrets.token_urlsafe(18)
        self._codes[code] = {
            "user": self.approve_as,
            "redirect_uri": redirect,
            "challenge": q["code_challenge"],
            "scope": q.get("scope", ""),
            "expires": time.time() + 600,
        }
        raise web.HTTPFound(f"{redirect}?{urlencode({'code': code, **back})}")

    async def token(self, request: web.Request) -> web.Response:
        """``POST /api/token``: authorization_code (with PKCE) and refresh_token grants."""
        form = await request.post()
        basic = request.headers.get("Authorization", "")
        if basic:
            pair = base64.b64decode(basic.removeprefix("Basic ")).decode()
            if pair != f"{self.client_id}:{self.client_secret}":
                return oauth_error("invalid_client", "Invalid client secret")
        elif form.get("client_id") != self.client_id:
            return oauth_error("invalid_client", "Invalid client")
        grant = str(form.get("grant_type", ""))
        self.grants.append(grant)
        if grant == "authorization_code":
            entry = self._codes.pop(str(form.get("code", "")), None)
            if entry is None or entry["expires"] < time.time():
                return oauth_error("invalid_grant", "Invalid authorization code")
            if form.get("redirect_uri") != entry["redirect_uri"]:
                return oauth_error("invalid_grant", "Invalid redirect URI")
            digest = hashlib.sha256(str(form.get("code_verifier", "")).encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != entry["challenge"]:
                return oauth_error("invalid_grant", "code_verifier was incorrect")
            return web.json_response(self._issue(entry["user"], entry["scope"]))
        if grant == "refresh_token":
            old = str(form.get("refresh_token", ""))
            user_id = self._refresh.get(old)
            if user_id is None:
                return oauth_error("invalid_grant", "Refresh token revoked")
            scope = self._scopes.get(old, "")
            if self.rotate_refresh:
                del self._refresh[old]
            return web.json_response(self._issue(user_id, scope, refresh=self.rotate_refresh))
        return oauth_error("unsupported_grant_type", grant)

    # -- the Web API ---------------------------------------------------------------------------
    async def api(self, request: web.Request) -> web.StreamResponse:
        """Route ``/v1/…`` (trailing slashes ignored, as Spotify does)."""
        user = self._user(request)
        if user is None:
            return api_error(401, "Invalid access token")
        parts = [p for p in request.match_info["path"].split("/") if p]
        if parts == ["me", "player", "queue"] and request.method == "POST":
            return self.add_to_queue(request, user)
        return await self.catalog.route(self, user, request, parts)

    def granted(self, request: web.Request) -> set[str]:
        """The scopes granted to the request's access token."""
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return set(self._scopes.get(token, "").split())

    def add_to_queue(self, request: web.Request, user: FakeUser) -> web.Response:
        """``POST /me/player/queue?uri=…``: 204 and no body when queued; Spotify's refusals."""
        if "user-modify-playback-state" not in self.granted(request):
            return api_error(403, "Insufficient client scope")
        uri = request.query.get("uri", "")
        if not URI.match(uri):
            return api_error(400, "Invalid base62 id")
        if not user.premium:
            return api_error(403, "Player command failed: Premium required", "PREMIUM_REQUIRED")
        if not user.active_device:
            return api_error(
                404, "Player command failed: No active device found", "NO_ACTIVE_DEVICE"
            )
        user.queue.append(uri)
        return web.Response(status=204)

    def page(
        self, request: web.Request, items: list[Any], limit_max: int = 50, default: int = 20
    ) -> web.Response:
        """A paging object over ``items`` with absolute ``next``/``previous`` on this server."""
        try:
            limit = int(request.query.get("limit", default))
            offset = int(request.query.get("offset", 0))
        except ValueError:
            return api_error(400, "Invalid limit")
        if not 0 < limit <= limit_max:
            return api_error(400, "Invalid limit")
        if offset < 0:
            return api_error(400, "Invalid offset")
        url = f"{self.base}{request.path}"
        extra = {k: v for k, v in request.query.items() if k not in ("limit", "offset")}

        def link(at: int) -> str:
            return f"{url}?{urlencode({**extra, 'offset': at, 'limit': limit})}"

        body = {
            "href": link(offset),
            "items": items[offset : offset + limit],
            "limit": limit,
            "offset": offset,
            "total": len(items),
            "next": link(offset + limit) if offset + limit < len(items) else None,
            "previous": link(max(0, offset - limit)) if offset > 0 else None,
        }
        return web.json_response(body)

    async def json_body(self, request: web.Request) -> Any:
        """The request's JSON body (None if absent or unreadable)."""
        raw = await request.read()
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None
