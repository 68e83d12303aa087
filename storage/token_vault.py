"""Tokens of linked accounts, encrypted at rest: the one place that turns token dicts into blobs."""

from __future__ import annotations

import logging
from typing import Any

from storage.account_store import AccountStore
from storage.crypto import TokenCipher, TokenDecryptError

log = logging.getLogger(__name__)


class TokenVault:
    """Save, load and delete a user's token for a provider (Fernet-encrypted in SQLite)."""

    def __init__(self, accounts: AccountStore, cipher: TokenCipher) -> None:
        self.accounts = accounts
        self.cipher = cipher

    def save(
        self, user_id: int, provider: str, token: dict[str, Any], account_name: str, scopes: str
    ) -> None:
        """Store a freshly linked account's token."""
        self.accounts.save_link(user_id, provider, account_name, self.cipher.encrypt(token), scopes)

    def update(self, user_id: int, provider: str, token: dict[str, Any]) -> bool:
        """Replace the stored token (a refresh, a rotated refresh token); False if unlinked."""
        return self.accounts.update_token_blob(user_id, provider, self.cipher.encrypt(token))

    def load(self, user_id: int, provider: str) -> dict[str, Any] | None:
        """The decrypted token, or None if not linked or unreadable with the current key."""
        row = self.accounts.get_link(user_id, provider)
        if row is None:
            return None
        try:
            return self.cipher.decrypt(row["token_blob"])
        except TokenDecryptError:
            log.warning(
                "the %s token of user %s cannot be decrypted (key changed?)", provider, user_id
            )
            return None

    def account_name(self, user_id: int, provider: str) -> str | None:
        """The display name of the linked account, or None."""
        row = self.accounts.get_link(user_id, provider)
        return str(row["account_name"]) if row else None

    def scopes(self, user_id: int, provider: str) -> str | None:
        """The scopes granted at link time, space-separated, or None when not linked."""
        row = self.accounts.get_link(user_id, provider)
        return str(row["scopes"] or "") if row else None

    def delete(self, user_id: int, provider: str) -> bool:
        """Unlink: the tokens are deleted."""
        return self.accounts.delete_link(user_id, provider)
