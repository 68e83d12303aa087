"""Spotify authorisation: the authorization-code + PKCE URL, the code exchange, and refreshes.

``UserTokens`` is the spotipy auth manager of one linked user: it reads the token through a spotipy
CacheHandler (the encrypted vault), refreshes it a minute before it expires — or at once when the Web
API refused it (401) before then — under a per-user lock, and stores a rotated refresh token at once.
``invalid_grant`` on refresh raises ``LinkRevoked`` (and the refresh token is not tried again).
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from typing import Any
from urllib.parse import urlencode

from spotipy.cache_handler import CacheHandler
from spotipy.oauth2 import SpotifyAuthBase

from bot.core.errors import UserFacingError
from bot.sources.backoff import MalformedResponse, PoliteSession, RetryPolicy

log = logging.getLogger(__name__)

#: What beatmatch asks for: read the library, top lists and playlists; write its own playlists,
#: which are always private (so no ``playlist-modify-public``).
SCOPES: tuple[str, ...] = (
    "user-library-read",
    "user-top-read",
    "playlist-read-private",
    "playlist-read-collaborative",
    "playlist-modify-private",
)
#: Asked for as well when the operator lets workouts queue tracks (``spotify.queue_in_workouts``).
QUEUE_SCOPE = "user-modify-playback-state"
REFRESH_MARGIN_SECONDS = 60.0


class LinkRevoked(Exception):
    """The stored grant is gone: ``refused`` when Spotify answered ``invalid_grant`` to a refresh,
    otherwise no token is stored (unlinked or forgotten meanwhile)."""

    def __init__(self, reason: str, refused: bool = False) -> None:
        super().__init__(reason)
        self.refused = refused


class LinkFailed(UserFacingError):
    """Spotify refused to finish a link (the code expired or was already used)."""


def _join(base: str, path: str) -> str:
    return base.rstrip("/") + "/" + path.lstrip("/")


class SpotifyAuth:
    """The app's side of OAuth against ``accounts_base`` (blocking; call from a worker thread)."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        accounts_base: str,
        policy: RetryPolicy | None = None,
        http: PoliteSession | None = None,
        extra_scopes: tuple[str, ...] = (),
    ) -> None:
        """``extra_scopes``: asked for after ``SCOPES`` (``QUEUE_SCOPE`` when workouts queue)."""
        self.client_id = client_id
        self.client_secret = client_secret
        self.authorize_endpoint = _join(accounts_base, "authorize")
        self.token_endpoint = _join(accounts_base, "api/token")
        self.http = http or PoliteSession("Spotify", policy or RetryPolicy())
        self.scopes = SCOPES + tuple(s for s in extra_scopes if s not in SCOPES)

    @property
    def scope(self) -> str:
        """The scopes, space-separated."""
        return " ".join(self.scopes)

    def authorize_url(self, redirect_uri: str, state: str, challenge: str) -> str:
        """Where to send the user: authorization code with an S256 PKCE challenge."""
        query = urlencode(
            {
                "client_id": self.client_id,
                "response_type": "code",
                "redirect_uri": redirect_uri,
                "state": state,
                "scope": self.scope,
                "code_challenge_method": "S256",
                "code_challenge": challenge,
            }
        )
        return f"{self.authorize_endpoint}?{query}"

    def exchange(self, code: str, verifier: str, redirect_uri: str) -> dict[str, Any]:
        """Trade an authorization code (with its PKCE verifier) for tokens."""
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        }
        # A code is single-use: never resend the exchange after a timeout or 5xx.
        return self._token_call(data, grant="authorization_code", retry_unsafe=False)

    def refresh(self, token: dict[str, Any]) -> dict[str, Any]:
        """A fresh token for ``token``; keeps the refresh token unless Spotify rotated it."""
        refresh_token = str(token.get("refresh_token") or "")
        if not refresh_token:
            raise LinkRevoked("no refresh token stored")
        data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        fresh = self._token_call(data, grant="refresh_token", retry_unsafe=True)
        fresh.setdefault("refresh_token", refresh_token)
        fresh.setdefault("scope", token.get("scope", self.scope))
        return fresh

    def _headers(self) -> dict[str, str]:
        if not self.client_secret:
            return {}
        pair = f"{self.client_id}:{self.client_secret}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}

    def _token_call(self, data: dict[str, str], grant: str, retry_unsafe: bool) -> dict[str, Any]:
        body = {**data, "client_id": self.client_id}
        response = self.http.request(
            "POST",
            self.token_endpoint,
            data=body,
            headers=self._headers(),
            retry_unsafe=retry_unsafe,
        )
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if response.status_code >= 400:
            error = payload.get("error") if isinstance(payload, dict) else None
            self._refused(grant, response.status_code, str(error or ""))
        if not isinstance(payload, dict) or not payload.get("access_token"):
            log.warning("Spotify token endpoint sent an unreadable answer (%s)", grant)
            raise MalformedResponse("Spotify")
        payload["expires_at"] = int(time.time()) + int(payload.get("expires_in") or 3600)
        payload.setdefault("token_type", "Bearer")
        return payload

    def _refused(self, grant: str, status: int, error: str) -> None:
        """Turn a refused token call into the right exception (codes and bodies are not logged)."""
        if error == "invalid_grant":
            if grant == "refresh_token":
                raise LinkRevoked("invalid_grant", refused=True)
            raise LinkFailed(
                "Spotify refused that sign-in: the code expired or was already used. "
                "Run /link spotify again."
            )
        if error in ("invalid_client", "unauthorized_client"):
            log.error(
                "Spotify rejected the app credentials (%s on %s): check spotify.client_id and "
                "spotify.client_secret, and the redirect URIs registered in the dashboard.",
                error,
                grant,
            )
            raise UserFacingError(
                "Spotify rejected this bot's app credentials; the operator has been told."
            )
        log.warning("Spotify token endpoint refused %s: HTTP %s %s", grant, status, error or "")
        raise UserFacingError(
            f"Spotify refused the sign-in (HTTP {status}{', ' + error if error else ''}). "
            "Run /link spotify again."
        )


class UserTokens(SpotifyAuthBase):
    """spotipy's auth manager for one linked user: cached token, refreshed in time, under a lock."""

    def __init__(
        self, auth: SpotifyAuth, cache: CacheHandler, margin: float = REFRESH_MARGIN_SECONDS
    ) -> None:
        super().__init__(requests_session=False)
        self.auth = auth
        self.cache_handler = cache
        self.margin = margin
        self.refreshes = 0
        self._lock = threading.Lock()  # one refresh at a time: a rotated token is used only once
        self._refused = ""  # the refresh token Spotify answered invalid_grant to

    def get_access_token(self, as_dict: bool = False) -> str:
        """A valid access token (refreshed first when it expires within ``margin`` seconds).

        Read from the vault on every call (a fraction of a millisecond): after /unlink or /forget
        no copy lingers in memory to be used again."""
        with self._lock:
            token = self._stored()
            if float(token.get("expires_at", 0)) - time.time() < self.margin:
                token = self._refresh(token)
            return str(token["access_token"])

    def renew(self, rejected: str) -> None:
        """The Web API refused the access token ``rejected`` (401) before it expired: refresh it
        now — once for all the calls that were refused the same token (the first one refreshes,
        the others find a different token stored and just use it)."""
        with self._lock:
            token = self._stored()
            if str(token.get("access_token") or "") == rejected:
                log.info("Spotify refused an unexpired access token (401); refreshing it")
                self._refresh(token)

    def _stored(self) -> dict[str, Any]:
        token = self.cache_handler.get_cached_token()
        if not token:
            raise LinkRevoked("not linked")
        if self._refused and token.get("refresh_token") == self._refused:
            # Known dead: the calls that waited for the failed refresh don't try it again.
            raise LinkRevoked("invalid_grant", refused=True)
        return dict(token)

    def _refresh(self, token: dict[str, Any]) -> dict[str, Any]:
        try:
            fresh = self.auth.refresh(token)
        except LinkRevoked:
            self._refused = str(token.get("refresh_token") or "")
            raise
        self.refreshes += 1
        self.cache_handler.save_token_to_cache(fresh)
        return fresh
