"""Messages the bot starts on its own — workout updates, link confirmations, weekly digests —
routed from an internal user id to the front (Discord, Telegram) and chat user it belongs to.

The core addresses users by internal id; a front knows only its own users. Each front calls
``seen`` for the user of every command, which remembers the address in memory and once in the
user's stored settings (``settings["chat"]``), so pushes still find their way after a restart
(a resumed workout, a digest that falls due).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from bot.core.digest import Undeliverable
from bot.core.replies import ChatUser, Reply
from bot.core.service import BeatmatchService

log = logging.getLogger(__name__)
SETTINGS_KEY = "chat"


class Front(Protocol):
    """A chat front able to message one of its users on its own."""

    platform: str

    async def push(self, user_id: str, reply: Reply) -> None:
        """Send ``reply`` to the platform user ``user_id``; Undeliverable if that is impossible."""
        ...


class PushRouter:
    """The notifier the core's workout manager, linking and digest use (uid → front)."""

    def __init__(self, service: BeatmatchService) -> None:
        self.service = service
        self.fronts: dict[str, Front] = {}
        self._known: dict[int, ChatUser] = {}

    def add(self, front: Front) -> None:
        """Route pushes for ``front.platform`` users to ``front``."""
        self.fronts[front.platform] = front

    async def seen(self, user: ChatUser) -> int:
        """Remember where ``user`` can be reached; returns their internal id."""
        uid = await self.service.uid(user)
        if self._known.get(uid) != user:
            await asyncio.to_thread(self._store, uid, user)
            self._known[uid] = user
        return uid

    def _store(self, uid: int, user: ChatUser) -> None:
        address = {"platform": user.platform, "user_id": user.user_id}
        repo = self.service.repo
        if repo.user_settings(uid).get(SETTINGS_KEY) != address:
            repo.update_user_settings(uid, **{SETTINGS_KEY: address})

    async def address(self, uid: int) -> ChatUser | None:
        """The chat user behind ``uid`` (memory first, then the stored settings)."""
        known = self._known.get(uid)
        if known is not None:
            return known
        stored = (await asyncio.to_thread(self.service.repo.user_settings, uid)).get(SETTINGS_KEY)
        if not isinstance(stored, dict) or not stored.get("platform"):
            return None
        user = ChatUser(str(stored["platform"]), str(stored.get("user_id", "")))
        self._known[uid] = user
        return user

    async def __call__(self, uid: int, reply: Reply) -> None:
        """Deliver ``reply`` to user ``uid`` through their front."""
        user = await self.address(uid)
        if user is None:
            raise Undeliverable(f"no chat address is known for user {uid}")
        front = self.fronts.get(user.platform)
        if front is None:
            log.info("a message for a %s user was dropped: that front is off", user.platform)
            return
        await front.push(user.user_id, reply)
