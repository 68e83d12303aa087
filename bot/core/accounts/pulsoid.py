"""Pulsoid accounts: linking (OAuth code flow, device flow, pasted token), and valid tokens on demand.

The HTTP client lives in ``bot.sources.pulsoid`` and implements ``PulsoidApi``; this module only
decides. Tokens are stored through the TokenVault (Fernet-encrypted), refreshed before they
expire (Pulsoid invalidates the old pair, so the new one is stored at once), validated before
every stream (re)connect, and a 401/403 asks the user to link again. No token is ever logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.core.delivery import Outbox
from bot.core.errors import NeedsLink, ServiceBusy, UserFacingError
from bot.core.oauth import StateKeeper
from bot.core.replies import Reply
from storage.token_vault import TokenVault

log = logging.getLogger(__name__)
PROVIDER = "pulsoid"
SCOPE = "data:heart_rate:read"
#: Refresh a token this long before it expires, so a workout never starts on a dying one.
REFRESH_MARGIN_S = 3600.0


class PulsoidRejected(NeedsLink):
    """Pulsoid answered 401/403: the token was revoked, expired or lacks the heart-rate scope."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(
            "Pulsoid no longer accepts beatmatch's access to your heart rate"
            + (f" ({detail})" if detail else "")
            + ". Link it again: /link pulsoid."
        )


class PulsoidPremiumRequired(UserFacingError):
    """Pulsoid answered 402: this kind of token needs a Pulsoid premium plan."""

    def __init__(self) -> None:
        super().__init__(
            "Pulsoid says this token needs a premium plan. Link through /link pulsoid without a "
            "token to sign in instead."
        )


class PulsoidUnavailable(ServiceBusy):
    """Pulsoid could not be reached, or answered 429/5xx."""

    def __init__(self) -> None:
        super().__init__("Pulsoid can't be reached right now; try again in a minute.")


class DeviceFlowEnded(UserFacingError):
    """The device code expired or the user declined."""


class DeviceSlowDown(Exception):
    """The token endpoint asked the device-flow poller to poll less often."""


@dataclass(frozen=True)
class PulsoidToken:
    """A token pair from Pulsoid's token endpoint (values never appear in reprs)."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_in: float | None = None


@dataclass(frozen=True)
class TokenInfo:
    """What /api/v1/token/validate says about a token."""

    profile_id: str
    client_id: str
    expires_in: float | None
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class DeviceAuthorization:
    """A device-flow start: the code the user types at the address, and how to poll."""

    device_code: str = field(repr=False)
    user_code: str = ""
    verification_uri: str = ""
    verification_uri_complete: str = ""
    expires_in: float = 600.0
    interval: float = 5.0


class PulsoidApi(Protocol):
    """Pulsoid's REST and OAuth endpoints, as the core needs them."""

    def authorize_url(self, state: str, redirect_uri: str) -> str:
        """The address that asks the user to grant heart-rate access (code flow)."""
        ...

    async def exchange_code(self, code: str, redirect_uri: str) -> PulsoidToken:
        """Trade an authorization code for tokens."""
        ...

    async def refresh(self, refresh_token: str) -> PulsoidToken:
        """A new token pair (the old one is invalidated); PulsoidRejected if refused."""
        ...

    async def device_authorization(self) -> DeviceAuthorization:
        """Start the device flow."""
        ...

    async def poll_device(self, device_code: str) -> PulsoidToken | None:
        """Tokens once the user approved, None while pending; DeviceSlowDown, DeviceFlowEnded."""
        ...

    async def validate(self, access_token: str) -> TokenInfo:
        """Validate a token; PulsoidRejected (401/403), PulsoidPremiumRequired (402)."""
        ...

    async def revoke(self, token: str) -> None:
        """Revoke a token (best effort)."""
        ...


def _record(token: PulsoidToken, info: TokenInfo, kind: str) -> dict[str, Any]:
    """The dict stored (encrypted) in the vault."""
    expires_in = token.expires_in if token.expires_in is not None else info.expires_in
    return {
        "access_token": token.access_token,
        "refresh_token": token.refresh_token,
        "expires_at": time.time() + expires_in if expires_in else None,
        "kind": kind,
        "profile_id": info.profile_id,
        "scopes": list(info.scopes),
    }


class PulsoidAccounts:
    """Links Pulsoid accounts and hands out validated access tokens."""

    def __init__(
        self,
        api: PulsoidApi,
        vault: TokenVault,
        states: StateKeeper,
        outbox: Outbox,
        *,
        public_url: str = "",
        oauth_enabled: bool = True,
    ) -> None:
        """``oauth_enabled``: a client id is configured (code and device flows possible)."""
        self.api = api
        self.vault = vault
        self.states = states
        self.public_url = public_url.rstrip("/")
        self.oauth_enabled = oauth_enabled
        self.outbox = outbox
        self._locks: dict[int, asyncio.Lock] = {}
        self._device_tasks: dict[int, asyncio.Task[None]] = {}

    @property
    def redirect_uri(self) -> str:
        """Where Pulsoid sends the user back to after the code flow."""
        return f"{self.public_url}/callback/{PROVIDER}"

    async def linked(self, user_id: int) -> bool:
        """True when the user has a Pulsoid token stored (not necessarily still valid)."""
        return await asyncio.to_thread(self.vault.account_name, user_id, PROVIDER) is not None

    async def _store(self, user_id: int, token: PulsoidToken, kind: str) -> TokenInfo:
        info = await self.api.validate(token.access_token)
        if SCOPE not in info.scopes:
            raise PulsoidRejected(f"the token lacks the {SCOPE} permission")
        record = _record(token, info, kind)
        await asyncio.to_thread(
            self.vault.save, user_id, PROVIDER, record, info.profile_id, " ".join(info.scopes)
        )
        log.info("user %s linked Pulsoid (%s)", user_id, kind)
        return info

    async def link_pasted(self, user_id: int, token: str) -> TokenInfo:
        """Validate and store a token the user pasted (pulsoid.net/ui/keys)."""
        return await self._store(user_id, PulsoidToken(access_token=token.strip()), "manual")

    async def start_code_flow(self, user_id: int) -> str:
        """The authorize address for the OAuth code flow through our callback server."""
        pending = await asyncio.to_thread(self.states.issue, user_id, PROVIDER)
        return self.api.authorize_url(pending.state, self.redirect_uri)

    async def complete_code_flow(self, state: str, code: str) -> int:
        """Finish the code flow from the callback: the state says who; returns the user id."""
        completed = await asyncio.to_thread(self.states.redeem, state, PROVIDER)
        token = await self.api.exchange_code(code, self.redirect_uri)
        info = await self._store(completed.user_id, token, "oauth")
        await self._tell(completed.user_id, linked_text(info))
        return completed.user_id

    async def start_device_flow(self, user_id: int) -> DeviceAuthorization:
        """Start the device flow and poll for its outcome in the background."""
        auth = await self.api.device_authorization()
        old = self._device_tasks.pop(user_id, None)
        if old is not None:
            old.cancel()
        task = asyncio.get_running_loop().create_task(self._poll_device(user_id, auth))
        self._device_tasks[user_id] = task
        task.add_done_callback(lambda _t: self._forget_task(user_id, task))
        return auth

    def _forget_task(self, user_id: int, task: asyncio.Task[None]) -> None:
        if self._device_tasks.get(user_id) is task:
            del self._device_tasks[user_id]

    async def _poll_device(self, user_id: int, auth: DeviceAuthorization) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + auth.expires_in
        interval = max(auth.interval, 0.0)
        try:
            while loop.time() < deadline:
                await asyncio.sleep(interval)
                try:
                    token = await self.api.poll_device(auth.device_code)
                except DeviceSlowDown:
                    interval += max(interval, 1.0)
                    continue
                except PulsoidUnavailable:
                    continue
                if token is not None:
                    info = await self._store(user_id, token, "device")
                    await self._tell(user_id, linked_text(info))
                    return
            await self._tell(user_id, "The Pulsoid code expired. /link pulsoid gives a new one.")
        except UserFacingError as error:
            await self._tell(user_id, error.message)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("Pulsoid device flow of user %s failed", user_id)
            await self._tell(user_id, "Linking Pulsoid failed on my side; try /link pulsoid again.")

    async def _tell(self, user_id: int, text: str) -> None:
        await self.outbox.send(user_id, Reply(title="Pulsoid", text=text))

    async def access_token(self, user_id: int, validate: bool = True) -> str:
        """A usable access token: refreshed when about to expire, validated unless told not to.

        NeedsLink when nothing is linked, PulsoidRejected when Pulsoid refuses it (link again).
        """
        lock = self._locks.setdefault(user_id, asyncio.Lock())
        async with lock:
            token = await asyncio.to_thread(self.vault.load, user_id, PROVIDER)
            if token is None:
                raise NeedsLink("Link your heart-rate monitor first: /link pulsoid.")
            refreshed = False
            expires_at = token.get("expires_at")
            if (
                token.get("refresh_token")
                and expires_at
                and expires_at - time.time() < REFRESH_MARGIN_S
            ):
                token, refreshed = await self._refresh(user_id, token), True
            if not validate:
                return str(token["access_token"])
            try:
                info = await self.api.validate(str(token["access_token"]))
            except PulsoidRejected:
                if refreshed or not token.get("refresh_token"):
                    raise
                token = await self._refresh(user_id, token)
                info = await self.api.validate(str(token["access_token"]))
            if SCOPE not in info.scopes:
                raise PulsoidRejected(f"the token lacks the {SCOPE} permission")
            return str(token["access_token"])

    async def _refresh(self, user_id: int, token: dict[str, Any]) -> dict[str, Any]:
        fresh = await self.api.refresh(str(token["refresh_token"]))
        token = {
            **token,
            "access_token": fresh.access_token,
            "refresh_token": fresh.refresh_token or token.get("refresh_token"),
            "expires_at": time.time() + fresh.expires_in if fresh.expires_in else None,
        }
        # The old pair is dead from now on: store the new one before anything else can fail.
        await asyncio.to_thread(self.vault.update, user_id, PROVIDER, token)
        log.info("refreshed the Pulsoid token of user %s", user_id)
        return token

    async def unlink(self, user_id: int) -> bool:
        """Revoke (best effort) and delete the user's tokens; False if nothing was linked."""
        task = self._device_tasks.pop(user_id, None)
        if task is not None:
            task.cancel()
        token = await asyncio.to_thread(self.vault.load, user_id, PROVIDER)
        if token is not None:
            for key in ("refresh_token", "access_token"):
                if token.get(key):
                    try:
                        await self.api.revoke(str(token[key]))
                    except Exception:
                        log.warning("revoking a Pulsoid token of user %s failed", user_id)
        return await asyncio.to_thread(self.vault.delete, user_id, PROVIDER)

    async def close(self) -> None:
        """Stop any device-flow polling."""
        tasks = list(self._device_tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)


def linked_text(info: TokenInfo) -> str:
    """Said once a link is stored."""
    return (
        f"Pulsoid linked (profile {info.profile_id[:8]}…). /workout start now follows your real "
        "heart rate; /recommend uses it while a workout runs."
    )
