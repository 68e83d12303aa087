"""One progress message per command, edited as the work advances (as Discord's "thinking…").

The first line is sent as a message (quoting the command in a group); later lines edit it
(``editMessageText``), at most one edit every ``every`` seconds: a line that comes sooner waits,
and only the newest waiting line is shown. "Message is not modified" is not a failure; a message
that can no longer be edited (deleted by the user, too old) is replaced by a new one; other
failures are logged and the command carries on. When the answer has gone out, ``close`` removes
the progress message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from telegram import Bot, ReplyParameters
from telegram.error import BadRequest, TelegramError

log = logging.getLogger(__name__)
#: Seconds between two edits of one progress message (Telegram allows about one message a
#: second in a chat and twenty a minute in a group; the core sends a line every 2 s at most).
EDIT_EVERY_SECONDS = 3.0
PREFIX = "… "


class ProgressMessage:
    """The ``Notify`` of one command: a single message in ``chat_id``, edited in place."""

    def __init__(
        self,
        bot: Bot,
        chat_id: int,
        *,
        reply_to: int | None = None,
        every: float = EDIT_EVERY_SECONDS,
    ) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self.reply_to = reply_to
        self.every = every
        self.message_id: int | None = None
        self._shown = ""
        self._waiting: str | None = None
        self._last = 0.0
        self._later: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._closed = False

    async def __call__(self, line: str) -> None:
        """Show ``line``: send the message, edit it now, or leave it for the next due edit."""
        async with self._lock:
            if self._closed:
                return
            self._waiting = PREFIX + line
            if self.message_id is None:
                await self._send()
                return
            due = self._last + self.every - time.monotonic()
            if due <= 0:
                await self._edit()
            elif self._later is None:
                self._later = asyncio.create_task(self._edit_in(due))

    async def close(self) -> None:
        """Stop editing and delete the progress message (best effort): the answer is out."""
        async with self._lock:
            self._closed = True
            self._waiting = None
            if self._later is not None:
                self._later.cancel()
            if self.message_id is None:
                return
            message_id, self.message_id = self.message_id, None
        with contextlib.suppress(TelegramError):
            await self.bot.delete_message(self.chat_id, message_id)

    async def _edit_in(self, delay: float) -> None:
        await asyncio.sleep(delay)
        async with self._lock:
            self._later = None
            if not self._closed:
                await self._edit()

    async def _send(self) -> None:
        """Send the waiting line as the progress message."""
        text, self._waiting = self._waiting or PREFIX, None
        quoted = (
            ReplyParameters(self.reply_to, allow_sending_without_reply=True)
            if self.reply_to
            else None
        )
        try:
            sent = await self.bot.send_message(
                self.chat_id, text, parse_mode=None, reply_parameters=quoted
            )
        except TelegramError:
            log.warning("a progress message could not be sent", exc_info=True)
            return
        self.message_id, self._shown, self._last = sent.message_id, text, time.monotonic()

    async def _edit(self) -> None:
        """Put the waiting line into the progress message (a new one if it can't be edited)."""
        text, self._waiting = self._waiting, None
        if text is None or text == self._shown or self.message_id is None:
            return
        try:
            await self.bot.edit_message_text(
                text, chat_id=self.chat_id, message_id=self.message_id, parse_mode=None
            )
        except BadRequest as error:
            if "not modified" in error.message.lower():
                self._shown, self._last = text, time.monotonic()
                return
            log.info("a progress message could not be edited (%s); sending anew", error.message)
            self._waiting = text
            await self._send()
            return
        except TelegramError:
            log.warning("a progress message could not be edited", exc_info=True)
            return
        self._shown, self._last = text, time.monotonic()
