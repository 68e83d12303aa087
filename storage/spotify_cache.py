"""A spotipy CacheHandler over the token vault: each linked user's token, Fernet-encrypted in SQLite."""

from __future__ import annotations

import logging
from typing import Any

from spotipy.cache_handler import CacheHandler

from storage.token_vault import TokenVault

log = logging.getLogger(__name__)
PROVIDER = "spotify"


class VaultCacheHandler(CacheHandler):
    """spotipy's token cache for one linked user, read from and written to the vault at once."""

    def __init__(self, vault: TokenVault, user_id: int, provider: str = PROVIDER) -> None:
        self.vault = vault
        self.user_id = user_id
        self.provider = provider

    def get_cached_token(self) -> dict[str, Any] | None:
        """The user's decrypted token_info, or None when not linked (or unreadable)."""
        return self.vault.load(self.user_id, self.provider)

    def save_token_to_cache(self, token_info: dict[str, Any]) -> None:
        """Store a refreshed (possibly rotated) token now; an unlinked user stays unlinked."""
        if not self.vault.update(self.user_id, self.provider, dict(token_info)):
            log.info(
                "user %s unlinked %s while a token was refreshed; not stored",
                self.user_id,
                self.provider,
            )

    def delete(self) -> bool:
        """Forget the token (unlink); True if there was one."""
        return self.vault.delete(self.user_id, self.provider)
