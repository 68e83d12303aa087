"""Messages the bot starts on its own — workout updates, link confirmations, weekly digests —
routed from an internal user id to the front (Discord, Telegram) and chat user it belongs to.

The core addresses users by internal id and remembers where each can be reached
(``bot.core.users``); a front knows only its own users. Each front reports the user of every
command (``seen``), so pushes still find their way after a restart.
"""

from __future__ import annotations

import logging
from typing import Protocol

from bot.core.delivery import Undeliverable
from bot.core.replies import ChatUser, Reply
from bot.core.users import Users

log = logging.getLogger(__name__)


class Front(Protocol):
    """A chat front able to message one of its users on its own."""

    platform: str

    async def push(self, user_id: str, reply: Reply) -> None:
        """Send ``reply`` to the platform user ``user_id``; Undeliverable if that is impossible."""
        ...


class PushRouter:
    """The notifier the core's outbox delivers through (internal user id → front)."""

    def __init__(self, users: Users) -> None:
        self.users = users
        self.fronts: dict[str, Front] = {}

    def add(self, front: Front) -> None:
        """Route pushes for ``front.platform`` users to ``front``."""
        self.fronts[front.platform] = front

    async def seen(self, user: ChatUser) -> int:
        """Remember where ``user`` can be reached; returns their internal id."""
        return await self.users.seen(user)

    async def __call__(self, uid: int, reply: Reply) -> None:
        """Deliver ``reply`` to user ``uid`` through their front."""
        user = await self.users.address(uid)
        if user is None:
            raise Undeliverable(f"no chat address is known for user {uid}")
        front = self.fronts.get(user.platform)
        if front is None:
            log.info("a message for a %s user was dropped: that front is off", user.platform)
            return
        await front.push(user.user_id, reply)
