"""The transport under spotipy's public API: a ``requests.Session`` handed to
``spotipy.Spotify(requests_session=...)``, so every call beatmatch makes through spotipy's public
methods goes out with our manners instead of spotipy's own urllib3 retries.

spotipy sends every Web API request through ``session.request(method, url, headers=, params=,
data=, ...)`` — the one public seam it offers (its ``requests_session`` argument). This session:

- adds the access token itself (spotipy is built without an auth manager, so no token passes through
  spotipy and its DEBUG log of request headers shows none);
- sends through ``PoliteSession``: Retry-After honoured but capped (``ServiceBusy`` beyond the
  budget), 5xx and timeouts retried (non-GET only when safe), one rate gate per app;
- on a 401 renews the access token once (``UserTokens.renew``) and sends the call again — a 401
  means the call was not carried out, so even a POST is safe to resend;
- raises ``SpotifyException`` for any other error status, with ``"METHOD /path: message"`` (no query
  string) and Spotify's ``reason``, before spotipy would log the full URL at ERROR;
- raises ``MalformedResponse`` for a body that is not JSON (spotipy would quietly return None).

Exceptions raised here pass through spotipy unchanged (it only catches requests' HTTPError and
RetryError, and ValueError). Nothing private of spotipy is used; the tested spotipy range is pinned
in pyproject.toml.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
from spotipy.exceptions import SpotifyException

from bot.sources.backoff import MalformedResponse, PoliteSession

log = logging.getLogger(__name__)


class AccessTokens(Protocol):
    """Where the access token comes from (``UserTokens`` of a linked user)."""

    def get_access_token(self, as_dict: bool = False) -> str:
        """A valid access token."""
        ...

    def renew(self, rejected: str) -> None:
        """The Web API refused ``rejected`` (401): refresh it unless that was done meanwhile."""
        ...


class FixedToken:
    """One access token, not renewable (the probe that reads ``/me`` right after a link)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def get_access_token(self, as_dict: bool = False) -> str:
        """The token."""
        return self.token

    def renew(self, rejected: str) -> None:
        """Nothing to renew with: the second 401 is reported as it is."""


class SpotifySession(requests.Session):
    """What spotipy sends its requests through (see the module docstring)."""

    def __init__(self, http: PoliteSession, tokens: AccessTokens) -> None:
        super().__init__()
        self.http = http
        self.tokens = tokens

    def request(  # type: ignore[override]
        self,
        method: str | bytes,
        url: str | bytes,
        params: Any = None,
        data: Any = None,
        headers: Any = None,
        **_spotipy: Any,
    ) -> requests.Response:
        """Send one Web API call (spotipy's ``timeout`` and ``proxies`` give way to the policy's)."""
        verb = method.decode() if isinstance(method, bytes) else str(method)
        address = url.decode() if isinstance(url, bytes) else str(url)
        response, sent = self._send(verb, address, params, data, headers)
        if response.status_code == 401:
            self.tokens.renew(sent)
            response, _ = self._send(verb, address, params, data, headers)
        path = urlsplit(address).path
        if response.status_code >= 400:
            message, reason = _error_of(response)
            raise SpotifyException(
                response.status_code,
                -1,
                f"{verb} {path}: {message}",
                reason=reason,
                headers=response.headers,
            )
        if response.content.strip():
            try:
                response.json()
            except ValueError:
                log.warning("Spotify sent malformed JSON for %s %s", verb, path)
                raise MalformedResponse("Spotify") from None
        return response

    def _send(
        self, method: str, url: str, params: Any, data: Any, headers: Any
    ) -> tuple[requests.Response, str]:
        """One request with the current access token; the response and the token it carried."""
        token = self.tokens.get_access_token()
        sent = dict(headers or {})
        sent["Authorization"] = f"Bearer {token}"
        sent.setdefault("Content-Type", "application/json")
        response = self.http.request(method, url, headers=sent, params=params, data=data)
        return response, token

    def close(self) -> None:
        """Close this session and the pooled one under it."""
        super().close()
        self.http.session.close()


def _error_of(response: requests.Response) -> tuple[str, str | None]:
    """Spotify's ``{"error": {"message", "reason"}}`` of an error response ("" and None if not)."""
    try:
        body = response.json()
    except ValueError:
        return "", None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", None
    reason = error.get("reason")
    return str(error.get("message") or ""), str(reason) if reason else None
