"""Polling that reports whether it works: the ``getUpdates`` request of the Telegram front.

python-telegram-bot keeps polling after a failed ``getUpdates`` (retrying with a growing pause),
so ``updater.running`` stays true while no update arrives. This request — the one the Application
uses for ``getUpdates`` only — tells the front's readiness status how each call went: down when
the Bot API is unreachable or answers with an error, up again at the next good answer.
"""

from __future__ import annotations

from typing import Any

from telegram.request import HTTPXRequest

from bot.core.health import FrontStatus


class WatchedUpdatesRequest(HTTPXRequest):
    """PTB's own HTTP request for ``getUpdates`` (one connection, as its default) that reports."""

    def __init__(self, status: FrontStatus) -> None:
        super().__init__(connection_pool_size=1)
        self.status = status

    async def do_request(
        self, url: str, method: str, *args: Any, **kwargs: Any
    ) -> tuple[int, bytes]:
        """Send one call; the outcome goes to the status (the URL, with its token, never does)."""
        try:
            code, payload = await super().do_request(url, method, *args, **kwargs)
        except Exception as error:
            self.status.down(f"getUpdates failed: {type(error).__name__}")
            raise
        if 200 <= code < 300:
            self.status.up("polling")
        else:
            self.status.down(f"getUpdates answered HTTP {code}")
        return code, payload
