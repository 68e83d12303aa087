"""Spotify through spotipy, within the 2026 Web API: one client per linked user, blocking calls on
a thread pool of our own, our own requests session with capped backoff, and errors turned into
messages a user can act on. Implements the core's ``SpotifyPort`` and ``SpotifyAccount``.

Only spotipy's public API is used: a plain ``spotipy.Spotify`` whose ``requests_session`` is a
``SpotifySession`` (bot/sources/spotify_session.py: tokens, backoff, 401 renewal, error bodies,
strict JSON) and whose ``prefix`` is ``spotify.api_base``; every endpoint is a public method.

A 401 from the Web API renews the access token once and sends the call again; only a refresh that
Spotify refuses (``invalid_grant``) deletes the stored tokens, and the user hears that access was
revoked.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import spotipy
from spotipy.exceptions import SpotifyException

from bot.config import SpotifyConfig
from bot.core.errors import NeedsLink, NotFound, PlayerUnavailable, ServiceBusy, UserFacingError
from bot.core.metrics import NO_METER, Meter
from bot.core.ports import (
    PLAYLIST_ADD_CHUNK,
    SEARCH_LIMIT,
    SEARCH_MAX_OFFSET,
    Page,
    SpotifyArtist,
    SpotifyPlaylist,
    SpotifyProfile,
    SpotifyTrack,
)
from bot.sources import spotify_parse as parse
from bot.sources.backoff import MalformedResponse, PoliteSession, RateGate, RetryPolicy
from bot.sources.spotify_auth import QUEUE_SCOPE, LinkRevoked, SpotifyAuth, UserTokens
from bot.sources.spotify_session import AccessTokens, FixedToken, SpotifySession
from storage.spotify_cache import PROVIDER, VaultCacheHandler
from storage.token_vault import TokenVault

log = logging.getLogger(__name__)
# spotipy marks its audio_features() deprecated because Spotify removed the endpoint for new apps;
# beatmatch calls it only when the operator says the app still has it (legacy_audio_features).
warnings.filterwarnings(
    "ignore", message="You're using `audio_features", category=DeprecationWarning
)
R = TypeVar("R")
WORKERS = 16
REVOKED = (
    "Spotify access was revoked: Spotify no longer lets beatmatch renew its access to your "
    "account (the app was removed from your Spotify account, or the link expired), so I deleted "
    "the stored tokens. Link it again with /link spotify."
)
REFUSED = (
    "Spotify refused beatmatch's access to your account (HTTP 401) even with a fresh token. "
    "Try again in a few minutes; if it keeps happening, link it again with /link spotify."
)
NOT_LINKED = "Link your Spotify account first: /link spotify"
#: Why Spotify would not queue a track, by the error's ``reason`` (404 and 403 of the player API).
NO_DEVICE = (
    "Spotify has no active device to play on. Open Spotify on your phone or computer and start "
    "playing something; your next /workout start queues its tracks again."
)
PREMIUM = (
    "Spotify only lets Premium accounts have tracks queued by other apps. The tracks I pick "
    "still arrive here in the workout messages."
)
NO_SCOPE = (
    "Spotify refused to control your player: this link doesn't allow it. Link again with "
    "/link spotify and allow beatmatch to control playback."
)


def player_error(error: SpotifyException) -> Exception:
    """What a refused ``POST /me/player/queue`` means to the listener (other errors as usual)."""
    reason = str(getattr(error, "reason", "") or "")
    if error.http_status == 404 and reason in ("NO_ACTIVE_DEVICE", ""):
        return PlayerUnavailable(NO_DEVICE)
    if error.http_status == 403:
        return PlayerUnavailable(PREMIUM if reason == "PREMIUM_REQUIRED" else NO_SCOPE)
    return error


def user_error(error: SpotifyException) -> Exception:
    """What a Spotify HTTP error means to the user; other 4xx stay bugs (logged with an id)."""
    status = error.http_status
    if status == 401:  # still refused after a renewal (the tokens are kept: it may pass)
        return NeedsLink(REFUSED)
    if status == 403:
        return UserFacingError(
            "Spotify refused that (403). Development-Mode apps can't use some endpoints, and "
            "only the 5 accounts on the app's user list may use it at all."
        )
    if status == 404:
        return NotFound("Spotify doesn't know that item (404).")
    if status >= 500:
        return ServiceBusy(
            f"Spotify is having trouble (HTTP {status}); try again in a few minutes."
        )
    return error


class SpotifyAccountClient:
    """One linked user's Spotify (the core's ``SpotifyAccount``)."""

    def __init__(
        self,
        user_id: int,
        client: spotipy.Spotify,
        pool: ThreadPoolExecutor,
        on_revoked: Callable[[int, bool], bool],
        tokens: AccessTokens | None = None,
    ) -> None:
        """``client``: plain spotipy on a ``SpotifySession``; ``tokens``: that session's tokens."""
        self.user_id = user_id
        self.sp = client
        self.tokens = tokens
        self.pool = pool
        self.on_revoked = on_revoked

    async def _call(self, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.pool, functools.partial(self._guarded, fn, *args, **kwargs)
        )

    def _guarded(self, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        try:
            return fn(*args, **kwargs)
        except LinkRevoked as gone:
            revoked = self.on_revoked(self.user_id, gone.refused)
            raise NeedsLink(REVOKED if revoked else NOT_LINKED) from None
        except SpotifyException as error:
            mapped = user_error(error)
            if mapped is error:
                raise
            raise mapped from None

    async def profile(self) -> SpotifyProfile:
        """``GET /me``."""
        return parse.parse_profile(await self._call(self.sp.me))

    async def saved_tracks(self, offset: int, limit: int) -> Page[SpotifyTrack]:
        """``GET /me/tracks``."""
        raw = await self._call(self.sp.current_user_saved_tracks, limit=limit, offset=offset)
        return parse.parse_page(raw, parse.parse_entry)

    async def top_tracks(self, time_range: str, offset: int, limit: int) -> Page[SpotifyTrack]:
        """``GET /me/top/tracks``."""
        raw = await self._call(
            self.sp.current_user_top_tracks,
            time_range=f"{time_range}_term",
            limit=limit,
            offset=offset,
        )
        return parse.parse_page(raw, parse.parse_track)

    async def top_artists(self, time_range: str, offset: int, limit: int) -> Page[SpotifyArtist]:
        """``GET /me/top/artists``."""
        raw = await self._call(
            self.sp.current_user_top_artists,
            time_range=f"{time_range}_term",
            limit=limit,
            offset=offset,
        )
        return parse.parse_page(raw, parse.parse_artist)

    async def playlists(self, offset: int, limit: int) -> Page[SpotifyPlaylist]:
        """``GET /me/playlists``."""
        raw = await self._call(self.sp.current_user_playlists, limit=limit, offset=offset)
        return parse.parse_page(raw, parse.parse_playlist)

    async def playlist_items(self, playlist_id: str, offset: int, limit: int) -> Page[SpotifyTrack]:
        """``GET /playlists/{id}/items`` (``/tracks`` is gone)."""
        raw = await self._call(
            self.sp.playlist_items,
            playlist_id,
            limit=limit,
            offset=offset,
            additional_types=("track",),
        )
        return parse.parse_page(raw, parse.parse_entry)

    async def search_tracks(self, query: str, offset: int, limit: int) -> list[SpotifyTrack]:
        """``GET /search?type=track``, clamped to limit ≤ 10 and offset ≤ 1000."""
        limit = max(1, min(limit, SEARCH_LIMIT))
        offset = max(0, min(offset, SEARCH_MAX_OFFSET))
        raw = await self._call(self.sp.search, query, limit=limit, offset=offset, type="track")
        return parse.parse_search(raw)

    async def track(self, track_id: str) -> SpotifyTrack | None:
        """``GET /tracks/{id}``; None for an id Spotify doesn't know (404) or can't read (400)."""
        try:
            raw = await self._call(self.sp.track, track_id)
        except NotFound:
            return None
        except SpotifyException as error:
            if error.http_status == 400:
                return None
            raise
        return parse.parse_track(raw)

    async def create_playlist(self, name: str, description: str, public: bool) -> SpotifyPlaylist:
        """``POST /me/playlists`` (``POST /users/{id}/playlists`` is gone)."""
        raw = await self._call(
            self.sp.current_user_playlist_create,
            name,
            public=public,
            collaborative=False,
            description=description,
        )
        playlist = parse.parse_playlist(raw)
        if playlist is None:
            raise MalformedResponse("Spotify")
        return playlist

    async def add_to_playlist(self, playlist_id: str, uris: Sequence[str]) -> None:
        """``POST /playlists/{id}/items``, in chunks of 100, in order."""
        for start in range(0, len(uris), PLAYLIST_ADD_CHUNK):
            chunk = list(uris[start : start + PLAYLIST_ADD_CHUNK])
            await self._call(self.sp.playlist_add_items, playlist_id, chunk)

    async def add_to_queue(self, track_id: str) -> None:
        """``POST /me/player/queue?uri=spotify:track:ID`` (Premium, an active device, and the
        ``user-modify-playback-state`` scope); PlayerUnavailable when Spotify can't take it."""
        await self._call(self._queue, f"spotify:track:{track_id}")

    def _queue(self, uri: str) -> None:
        try:
            self.sp.add_to_queue(uri)
        except SpotifyException as error:
            mapped = player_error(error)
            if mapped is error:
                raise
            raise mapped from None

    async def audio_features(self, track_ids: Sequence[str]) -> dict[str, dict[str, float]]:
        """The legacy ``GET /audio-features`` (only apps that still have it)."""
        rows = await self._call(self.sp.audio_features, list(track_ids))
        return parse.parse_audio_features({"audio_features": rows})


class SpotifyGateway:
    """The Spotify app (the core's ``SpotifyPort``): links users and hands out their clients."""

    def __init__(
        self,
        config: SpotifyConfig,
        vault: TokenVault,
        *,
        workers: int = WORKERS,
        refresh_margin: float | None = None,
        meter: Meter = NO_METER,
    ) -> None:
        """``meter``: counts every call to Spotify (Web API and accounts) by status, and retries."""
        self.config = config
        self.meter = meter
        self.vault = vault
        self.policy = RetryPolicy(
            timeout=config.request_timeout, max_wait=config.max_backoff_seconds
        )
        self.gate = RateGate()  # rate limits are per app: one gate for every user's client
        self.auth = SpotifyAuth(
            config.client_id,
            config.client_secret,
            config.accounts_base,
            http=PoliteSession("Spotify", self.policy, self.gate, meter=meter),
            extra_scopes=(QUEUE_SCOPE,) if config.queue_in_workouts else (),
        )
        self.refresh_margin = refresh_margin
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="spotify")
        self._clients: dict[int, SpotifyAccountClient] = {}
        self._revoked_users: set[int] = set()  # tokens deleted after invalid_grant (this run)
        self._lock = threading.Lock()

    def authorize_url(self, redirect_uri: str, state: str, challenge: str) -> str:
        """The authorization-code + PKCE URL."""
        return self.auth.authorize_url(redirect_uri, state, challenge)

    def _spotipy(self, tokens: AccessTokens) -> spotipy.Spotify:
        """A plain spotipy client on our transport (no auth manager: the session adds tokens)."""
        http = PoliteSession("Spotify", self.policy, self.gate, meter=self.meter)
        client = spotipy.Spotify(
            requests_session=SpotifySession(http, tokens), requests_timeout=self.policy.timeout
        )
        client.prefix = self.config.api_base.rstrip("/") + "/"
        return client

    async def link(
        self, user_id: int, code: str, verifier: str, redirect_uri: str
    ) -> SpotifyProfile:
        """Exchange the code, read ``/me``, store the encrypted tokens; names the account."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.pool, self._link, user_id, code, verifier, redirect_uri
        )

    def _link(self, user_id: int, code: str, verifier: str, redirect_uri: str) -> SpotifyProfile:
        token = self.auth.exchange(code, verifier, redirect_uri)
        probe = SpotifyAccountClient(
            user_id, self._spotipy(FixedToken(token["access_token"])), self.pool, lambda *_: False
        )
        profile = probe._guarded(lambda: parse.parse_profile(probe.sp.me()))
        self.vault.save(user_id, PROVIDER, token, profile.label, str(token.get("scope") or ""))
        self._forget_client(user_id)
        with self._lock:
            self._revoked_users.discard(user_id)
        log.info("user %s linked a Spotify account", user_id)
        return profile

    async def unlink(self, user_id: int) -> bool:
        """Delete the user's tokens."""
        self._forget_client(user_id)
        with self._lock:
            self._revoked_users.discard(user_id)
        return await asyncio.to_thread(self.vault.delete, user_id, PROVIDER)

    async def linked_name(self, user_id: int) -> str | None:
        """The stored account name, or None when not linked."""
        return await asyncio.to_thread(self.vault.account_name, user_id, PROVIDER)

    async def granted_scopes(self, user_id: int) -> frozenset[str]:
        """The scopes the user granted when linking (empty when not linked)."""
        scopes = await asyncio.to_thread(self.vault.scopes, user_id, PROVIDER)
        return frozenset((scopes or "").split())

    async def account(self, user_id: int) -> SpotifyAccountClient:
        """The user's client (one per linked user); NeedsLink when not linked (saying so when
        Spotify revoked the access in this run)."""
        with self._lock:
            client = self._clients.get(user_id)
        if client is not None:
            return client
        if await asyncio.to_thread(self.vault.load, user_id, PROVIDER) is None:
            with self._lock:
                revoked = user_id in self._revoked_users
            raise NeedsLink(REVOKED if revoked else NOT_LINKED)
        tokens = UserTokens(self.auth, VaultCacheHandler(self.vault, user_id))
        if self.refresh_margin is not None:
            tokens.margin = self.refresh_margin
        client = SpotifyAccountClient(
            user_id, self._spotipy(tokens), self.pool, self._revoked, tokens
        )
        with self._lock:
            return self._clients.setdefault(user_id, client)

    def _revoked(self, user_id: int, refused: bool) -> bool:
        """The user's client found its grant gone: drop the client, and when Spotify refused the
        refresh (``refused``) delete the tokens. True if Spotify revoked the access in this run."""
        self._forget_client(user_id)
        with self._lock:
            if refused:
                self._revoked_users.add(user_id)
            revoked = user_id in self._revoked_users
        if refused and self.vault.delete(user_id, PROVIDER):
            log.info(
                "the Spotify grant of user %s is gone (invalid_grant): tokens deleted", user_id
            )
        return revoked

    def _forget_client(self, user_id: int) -> None:
        with self._lock:
            self._clients.pop(user_id, None)

    def close(self) -> None:
        """Stop the worker threads."""
        self.pool.shutdown(wait=False, cancel_futures=True)
