"""Messages the bot starts on its own — workout updates, link confirmations, weekly digests.

The core hands them to the ``Outbox``; whichever front serves the process (the console, or the
runner's router over Discord and Telegram) connects itself as the outbox's notifier when it starts.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.core.replies import Reply

log = logging.getLogger(__name__)
#: Delivers one message to an internal user id; raises Undeliverable when that is impossible.
Notifier = Callable[[int, Reply], Awaitable[None]]


class Undeliverable(Exception):
    """A chat front cannot reach this user at all (e.g. they refuse private messages)."""


class Outbox:
    """Where the core sends messages nobody is waiting for."""

    def __init__(self) -> None:
        self._notifier: Notifier | None = None

    def connect(self, notifier: Notifier | None) -> None:
        """Deliver through ``notifier`` from now on (None: drop messages)."""
        self._notifier = notifier

    @property
    def connected(self) -> bool:
        """Whether a front delivers the messages."""
        return self._notifier is not None

    async def deliver(self, user_id: int, reply: Reply) -> None:
        """Deliver ``reply``; Undeliverable or the front's own error when it can't be."""
        if self._notifier is not None:
            await self._notifier(user_id, reply)

    async def send(self, user_id: int, reply: Reply) -> None:
        """Deliver ``reply`` if possible; a failure is logged, never raised (a user the front
        cannot reach, e.g. who refuses private messages, as one WARNING line)."""
        try:
            await self.deliver(user_id, reply)
        except Undeliverable as refused:
            log.warning("a message to user %s was not delivered: %s", user_id, refused)
        except Exception:
            log.exception("could not deliver a message to user %s", user_id)
