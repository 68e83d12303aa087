"""OAuth ``state`` and PKCE for linking accounts (Spotify, Pulsoid).

A state is ``<nonce>.<hmac>``: random, HMAC-signed with the server's key, kept server-side (by hash)
with the chat user, the PKCE verifier and a 10-minute expiry, and deleted when used. Whoever
finishes the link, the chat user comes from the stored row, never from the URL; a pasted-back
address is refused if a different chat user pastes it, and stays valid for the user it belongs to
(only that user's paste, or the web callback, uses it up).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from bot.core.errors import UserFacingError
from storage.account_store import AccountStore

STATE_TTL_SECONDS = 600.0
_SIG_BYTES = 16


class LinkExpired(UserFacingError):
    """The state is unknown, used, expired, forged or someone else's."""

    def __init__(self, provider: str) -> None:
        super().__init__(
            f"That {provider.title()} link is not valid any more (expired, already used, or not "
            f"yours). Run /link {provider} again for a fresh one."
        )


@dataclass(frozen=True)
class PendingLink:
    """A state handed out: the value for the URL and the PKCE pair."""

    state: str
    verifier: str
    challenge: str


@dataclass(frozen=True)
class CompletedState:
    """What a valid state stood for."""

    user_id: int
    provider: str
    verifier: str


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge) per RFC 7636: 64 random bytes, base64url without padding."""
    verifier = base64.urlsafe_b64encode(secrets.token_bytes(64)).rstrip(b"=").decode()
    digest = hashlib.sha256(verifier.encode()).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return verifier, challenge


def _signature(key: bytes, provider: str, nonce: str) -> str:
    mac = hmac.new(key, f"{provider}|{nonce}".encode(), hashlib.sha256).digest()[:_SIG_BYTES]
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def _hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


class StateKeeper:
    """Issues and redeems OAuth states (blocking: call from a worker thread)."""

    def __init__(self, accounts: AccountStore, key: bytes, ttl: float = STATE_TTL_SECONDS) -> None:
        self.accounts = accounts
        # A key of its own, derived from the storage key: a state signature reveals nothing of it.
        self.key = hmac.new(key, b"beatmatch oauth state", hashlib.sha256).digest()
        self.ttl = ttl

    def issue(self, user_id: int, provider: str) -> PendingLink:
        """A new single-use state for ``user_id`` linking ``provider``, with a PKCE pair."""
        nonce = secrets.token_urlsafe(24)
        verifier, challenge = pkce_pair()
        self.accounts.put_oauth_state(_hash(nonce), user_id, provider, verifier, self.ttl)
        state = f"{nonce}.{_signature(self.key, provider, nonce)}"
        return PendingLink(state=state, verifier=verifier, challenge=challenge)

    def redeem(self, state: str, provider: str, user_id: int | None = None) -> CompletedState:
        """The stored link behind ``state`` (consumed); LinkExpired if forged, used, expired, of
        another provider, or — when ``user_id`` is given — of another chat user (whose state is
        then left unused: someone else pasting it must not cancel the owner's link)."""
        nonce, _, signature = state.strip().partition(".")
        if not nonce or not signature or len(state) > 200:
            raise LinkExpired(provider)
        if not hmac.compare_digest(signature, _signature(self.key, provider, nonce)):
            raise LinkExpired(provider)
        row = self.accounts.take_oauth_state(_hash(nonce), user_id)
        if row is None or row["provider"] != provider:
            raise LinkExpired(provider)
        return CompletedState(
            user_id=int(row["user_id"]), provider=provider, verifier=str(row["verifier"])
        )
