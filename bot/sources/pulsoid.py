"""Pulsoid's REST and OAuth endpoints over aiohttp: code and device flows, validate, refresh,
revoke, and the latest heart rate.

Implements ``bot.core.pulsoid_accounts.PulsoidApi``. Tokens travel only in headers and form
bodies, never in a URL or a log line; errors carry Pulsoid's error code, never the token.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp

from bot.core.accounts.pulsoid import (
    SCOPE,
    DeviceAuthorization,
    DeviceFlowEnded,
    DeviceSlowDown,
    PulsoidPremiumRequired,
    PulsoidRejected,
    PulsoidToken,
    PulsoidUnavailable,
    TokenInfo,
)
from bot.core.metrics import NO_METER, Meter

log = logging.getLogger(__name__)
SERVICE = "pulsoid"  # the service label of its calls on the meter
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
#: Pulsoid's error codes → what the user is told (reference/pulsoid.md).
ERROR_CODES: dict[int, str] = {
    7005: "the token is unknown",
    7006: "the token expired",
    7007: "a premium plan is required",
    7011: "the token lacks the heart-rate permission",
}


def parse_heart_rate(payload: Any) -> tuple[int, float] | None:
    """(measured_at ms, bpm) from a "latest" body or a WebSocket frame; None if malformed."""
    if not isinstance(payload, dict):
        return None
    data = payload.get("data")
    measured_at = payload.get("measured_at")
    hr = data.get("heart_rate") if isinstance(data, dict) else None
    if isinstance(hr, bool) or not isinstance(hr, int | float):
        return None
    if isinstance(measured_at, bool) or not isinstance(measured_at, int | float):
        return None
    if not 0 < hr < 300:
        return None
    return int(measured_at), float(hr)


class PulsoidClient:
    """One shared aiohttp session for every user's Pulsoid calls and WebSockets."""

    def __init__(
        self,
        client_id: str = "",
        client_secret: str = "",
        api_base: str = "https://dev.pulsoid.net/",
        oauth_base: str = "https://pulsoid.net/",
        timeout: float = 10.0,
        meter: Meter = NO_METER,
    ) -> None:
        """``meter``: counts every REST call by status ("network" when none came back); Pulsoid
        calls are never retried here (the device flow and the workouts ask again on their own)."""
        self.meter = meter
        self.client_id = client_id
        self.client_secret = client_secret
        self.api_base = api_base.rstrip("/") + "/"
        self.oauth_base = oauth_base.rstrip("/") + "/"
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    @property
    def realtime_url(self) -> str:
        """The real-time WebSocket address (the token goes in a header, not here)."""
        scheme, _, rest = self.api_base.partition("://")
        ws = "wss" if scheme == "https" else "ws"
        return f"{ws}://{rest}api/v1/data/real_time"

    def session(self) -> aiohttp.ClientSession:
        """The shared session, created on first use inside the running loop."""
        if self._session is None or self._session.closed:
            # No connection limit: every live workout holds one WebSocket open.
            connector = aiohttp.TCPConnector(limit=0, limit_per_host=0)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self.timeout)
        return self._session

    async def close(self) -> None:
        """Close the session and its connections."""
        if self._session is not None and not self._session.closed:
            await self._session.close()

    # -- OAuth -------------------------------------------------------------------------------
    def authorize_url(self, state: str, redirect_uri: str) -> str:
        """The consent page address of the code flow."""
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": redirect_uri,
                "scope": SCOPE,
                "state": state,
            }
        )
        return f"{self.oauth_base}oauth2/authorize?{query}"

    async def _token_call(self, form: dict[str, str]) -> dict[str, Any]:
        """POST the token endpoint; the JSON body, whatever the status (callers read ``error``)."""
        try:
            async with self.session().post(f"{self.oauth_base}oauth2/token", data=form) as resp:
                self.meter.outside_call(SERVICE, str(resp.status))
                body = await _json(resp)
                if resp.status >= 500 or resp.status == 429:
                    raise PulsoidUnavailable()
                if resp.status >= 400 and "error" not in body:
                    body["error"] = f"http_{resp.status}"
                return body
        except (TimeoutError, aiohttp.ClientError) as error:
            self.meter.outside_call(SERVICE, "network")
            log.warning("Pulsoid token endpoint unreachable: %s", type(error).__name__)
            raise PulsoidUnavailable() from None

    def _credentials(self) -> dict[str, str]:
        return {"client_id": self.client_id, "client_secret": self.client_secret}

    async def exchange_code(self, code: str, redirect_uri: str) -> PulsoidToken:
        """Trade an authorization code for tokens; PulsoidRejected if Pulsoid refuses."""
        body = await self._token_call(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                **self._credentials(),
            }
        )
        return _token_or_reject(body)

    async def refresh(self, refresh_token: str) -> PulsoidToken:
        """A new token pair; the old one stops working at once."""
        body = await self._token_call(
            {"grant_type": "refresh_token", "refresh_token": refresh_token, **self._credentials()}
        )
        return _token_or_reject(body)

    async def device_authorization(self) -> DeviceAuthorization:
        """Start the device flow: a user code to type at Pulsoid's address."""
        url = f"{self.oauth_base}oauth2/device_authorization"
        try:
            async with self.session().post(
                url, data={"client_id": self.client_id, "scope": SCOPE}
            ) as resp:
                self.meter.outside_call(SERVICE, str(resp.status))
                body = await _json(resp)
                if resp.status != 200 or "device_code" not in body:
                    log.warning("Pulsoid device authorization answered %s", resp.status)
                    raise PulsoidUnavailable()
        except (TimeoutError, aiohttp.ClientError):
            self.meter.outside_call(SERVICE, "network")
            raise PulsoidUnavailable() from None
        return DeviceAuthorization(
            device_code=str(body["device_code"]),
            user_code=str(body.get("user_code", "")),
            verification_uri=str(body.get("verification_uri", "")),
            verification_uri_complete=str(body.get("verification_uri_complete", "")),
            expires_in=float(body.get("expires_in", 600)),
            interval=float(body.get("interval", 5)),
        )

    async def poll_device(self, device_code: str) -> PulsoidToken | None:
        """Tokens once the user approved; None while pending."""
        body = await self._token_call(
            {"grant_type": DEVICE_GRANT, "device_code": device_code, "client_id": self.client_id}
        )
        error = body.get("error")
        if error == "authorization_pending":
            return None
        if error == "slow_down":
            raise DeviceSlowDown()
        if error == "expired_token":
            raise DeviceFlowEnded("The Pulsoid code expired. /link pulsoid gives a new one.")
        if error == "access_denied":
            raise DeviceFlowEnded("Pulsoid access was declined, so nothing is linked.")
        return _token_or_reject(body)

    async def revoke(self, token: str) -> None:
        """Revoke a token at Pulsoid (best effort: failures are only logged)."""
        try:
            async with self.session().post(
                f"{self.api_base}oauth2/revoke", data={"token": token}
            ) as resp:
                self.meter.outside_call(SERVICE, str(resp.status))
                if resp.status >= 400:
                    log.warning("Pulsoid revoke answered %s", resp.status)
        except (TimeoutError, aiohttp.ClientError) as error:
            self.meter.outside_call(SERVICE, "network")
            log.warning("Pulsoid revoke failed: %s", type(error).__name__)

    # -- API ---------------------------------------------------------------------------------
    async def _fetch(self, path: str, token: str) -> tuple[int, dict[str, Any]]:
        headers = {"Authorization": f"Bearer {token}"}
        try:
            async with self.session().get(f"{self.api_base}{path}", headers=headers) as resp:
                body = await _json(resp)
                status = resp.status
        except (TimeoutError, aiohttp.ClientError) as error:
            self.meter.outside_call(SERVICE, "network")
            log.warning("Pulsoid %s unreachable: %s", path, type(error).__name__)
            raise PulsoidUnavailable() from None
        self.meter.outside_call(SERVICE, str(status))
        if status in (401, 403):
            raise PulsoidRejected(ERROR_CODES.get(int(body.get("error_code") or 0), ""))
        if status == 402:
            raise PulsoidPremiumRequired()
        if status == 429 or status >= 500:
            raise PulsoidUnavailable()
        return status, body

    async def validate(self, access_token: str) -> TokenInfo:
        """What Pulsoid knows of the token; PulsoidRejected on 401/403."""
        status, body = await self._fetch("api/v1/token/validate", access_token)
        if status != 200:
            raise PulsoidUnavailable()
        scopes = body.get("scopes") or []
        expires = body.get("expires_in")
        return TokenInfo(
            profile_id=str(body.get("profile_id", "")),
            client_id=str(body.get("client_id", "")),
            expires_in=float(expires) if isinstance(expires, int | float) else None,
            scopes=tuple(str(s) for s in scopes) if isinstance(scopes, list) else (),
        )

    async def latest(self, access_token: str) -> tuple[int, float] | None:
        """The latest (measured_at ms, bpm), or None when the user has no data (412)."""
        status, body = await self._fetch("api/v1/data/heart_rate/latest", access_token)
        if status != 200:
            return None
        return parse_heart_rate(body)


async def _json(resp: aiohttp.ClientResponse) -> dict[str, Any]:
    """The response body as a JSON object ({} when it is not one)."""
    try:
        body = await resp.json(content_type=None)
    except (ValueError, aiohttp.ContentTypeError):
        return {}
    return body if isinstance(body, dict) else {}


def _token_or_reject(body: dict[str, Any]) -> PulsoidToken:
    """A PulsoidToken from a token response, PulsoidRejected if it is an error."""
    access = body.get("access_token")
    if body.get("error") or not isinstance(access, str) or not access:
        raise PulsoidRejected(str(body.get("error") or "no token in the answer")[:40])
    expires = body.get("expires_in")
    refresh = body.get("refresh_token")
    return PulsoidToken(
        access_token=access,
        refresh_token=refresh if isinstance(refresh, str) and refresh else None,
        expires_in=float(expires) if isinstance(expires, int | float) else None,
    )


def now_ms() -> int:
    """The wall clock in milliseconds, as Pulsoid's ``measured_at``."""
    return int(time.time() * 1000)
