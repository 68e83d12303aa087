"""Who is asking: chat users' internal ids, where the bot can reach them, and per-user cooldowns.

The core addresses users by internal id; a front knows only its own users. Each front reports the
user of every command (``seen``), which remembers the address in memory and once in the user's
stored settings (``settings["chat"]``), so messages the bot starts on its own still find their way
after a restart (a resumed workout, a digest that falls due).
"""

from __future__ import annotations

import asyncio
import time

from bot.core.errors import CoolingDown
from bot.core.replies import ChatUser
from storage.user_store import UserStore

#: Commands that cost real work (models, outside services): one per user per cooldown.
HEAVY_COMMANDS = ("recommend", "genre", "similar", "import")
ADDRESS_KEY = "chat"


class Users:
    """Internal ids, chat addresses and cooldowns of chat users."""

    def __init__(self, store: UserStore, cooldown_seconds: float = 3.0) -> None:
        self.store = store
        self.cooldown_seconds = cooldown_seconds
        self._last_used: dict[tuple[int, str], float] = {}
        self._known: dict[int, ChatUser] = {}

    async def uid(self, user: ChatUser) -> int:
        """The internal id of ``user`` (created on first contact)."""
        return await asyncio.to_thread(
            self.store.user_id, user.platform, user.user_id, user.display_name
        )

    def cooldown(self, uid: int, command: str) -> None:
        """CoolingDown if ``uid`` ran the heavy ``command`` less than the cooldown ago."""
        seconds = self.cooldown_seconds
        if seconds <= 0 or command not in HEAVY_COMMANDS:
            return
        now = time.monotonic()
        last = self._last_used.get((uid, command))
        if last is not None and now - last < seconds:
            raise CoolingDown(seconds - (now - last))
        self._last_used[(uid, command)] = now

    async def seen(self, user: ChatUser) -> int:
        """Remember where ``user`` can be reached; returns their internal id."""
        uid = await self.uid(user)
        if self._known.get(uid) != user:
            await asyncio.to_thread(self._store_address, uid, user)
            self._known[uid] = user
        return uid

    def _store_address(self, uid: int, user: ChatUser) -> None:
        address = {"platform": user.platform, "user_id": user.user_id}
        if self.store.user_settings(uid).get(ADDRESS_KEY) != address:
            self.store.update_user_settings(uid, **{ADDRESS_KEY: address})

    async def address(self, uid: int) -> ChatUser | None:
        """The chat user behind ``uid`` (memory first, then the stored settings)."""
        known = self._known.get(uid)
        if known is not None:
            return known
        settings = await asyncio.to_thread(self.store.user_settings, uid)
        stored = settings.get(ADDRESS_KEY)
        if not isinstance(stored, dict) or not stored.get("platform"):
            return None
        user = ChatUser(str(stored["platform"]), str(stored.get("user_id", "")))
        self._known[uid] = user
        return user

    def forget(self, uid: int) -> None:
        """Drop what is held in memory about ``uid`` (their rows are erased elsewhere)."""
        self._last_used = {k: v for k, v in self._last_used.items() if k[0] != uid}
        self._known.pop(uid, None)

    def holdings(self, uid: int) -> dict[str, int]:
        """How many stored rows of ``uid`` each table holds (what /forget would erase; blocking)."""
        return self.store.user_row_counts(uid)

    def erase(self, uid: int) -> dict[str, int]:
        """Delete every stored row of ``uid``; counts per table (blocking)."""
        return self.store.forget_user(uid)
