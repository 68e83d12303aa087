"""Reading linked users' Spotify libraries in the background: after a link, and again when stale.

One read per user at a time (a new one replaces the one under way). When a read ends, the taste
model retrains in the background. ``/recommend`` waits for a first read still under way, but never
for a refresh: the present model answers meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from bot.core.errors import UserFacingError
from bot.core.model_work import Priority
from bot.core.ports import SpotifyPort, SpotifyProfile
from bot.core.progress import Notify, silent
from bot.core.taste.spotify_reader import SpotifyReader, SyncReport
from bot.core.taste.training import TasteTraining
from storage.user_store import UserStore

log = logging.getLogger(__name__)
SYNCED_AT = "spotify_synced_at"  # user setting: when the library was last read (tried)


class SpotifyLibrary:
    """Background reads of linked users' Spotify taste (see ``SpotifyReader``)."""

    def __init__(
        self,
        gateway: SpotifyPort,
        reader: SpotifyReader,
        users: UserStore,
        training: TasteTraining,
        *,
        refresh_seconds: float = 24 * 3600.0,
    ) -> None:
        """``refresh_seconds``: a library read longer ago is read again (0: never)."""
        self.gateway = gateway
        self.reader = reader
        self.users = users
        self.training = training
        self.refresh_seconds = refresh_seconds
        self._reads: dict[int, asyncio.Task[SyncReport]] = {}
        self._refreshing: set[int] = set()  # users whose running read is a background refresh

    def start(
        self,
        user_id: int,
        notify: Notify,
        profile: SpotifyProfile | None = None,
        refresh: bool = False,
    ) -> asyncio.Task[SyncReport]:
        """Read the user's library in the background (replacing a read under way)."""
        old = self._reads.get(user_id)
        if old is not None and not old.done():
            old.cancel()
        priority = Priority.REFRESH if refresh else None
        task = asyncio.get_running_loop().create_task(self.read(user_id, notify, profile, priority))
        task.add_done_callback(_read_done)
        self._reads[user_id] = task
        if refresh:  # a re-read nobody waits for: the present model answers meanwhile
            self._refreshing.add(user_id)
            task.add_done_callback(lambda _: self._refreshing.discard(user_id))
        else:
            self._refreshing.discard(user_id)
        return task

    async def read(
        self,
        user_id: int,
        notify: Notify = silent,
        profile: SpotifyProfile | None = None,
        priority: Priority | None = None,
    ) -> SyncReport:
        """Read the user's Spotify taste into the library, then queue a retraining (at
        ``priority``: a background refresh waits behind everyone's first models)."""
        safe = _safe(notify)
        # When it was last tried: a refresh that fails is not retried on every command.
        await asyncio.to_thread(
            self.users.update_user_settings, user_id, **{SYNCED_AT: time.time()}
        )
        try:
            account = await self.gateway.account(user_id)
            report = await self.reader.run(user_id, account, safe, profile)
        except UserFacingError as error:
            await safe(f"Reading your Spotify library stopped: {error.message}")
            raise
        await self.training.schedule(user_id, priority)
        await safe(f"{report.summary()} Learning your taste now; /recommend when you're ready.")
        return report

    async def refresh_if_due(self, user_id: int) -> bool:
        """Read a linked library again, in the background, when the last read is older than
        ``refresh_seconds`` (new saved tracks and playlists get learned); True if one started."""
        if self.refresh_seconds <= 0:
            return False
        running = self._reads.get(user_id)
        if running is not None and not running.done():
            return False
        settings = await asyncio.to_thread(self.users.user_settings, user_id)
        last = float(settings.get(SYNCED_AT) or 0.0)
        if time.time() - last < self.refresh_seconds:
            return False
        if await self.gateway.linked_name(user_id) is None:
            return False
        self.start(user_id, silent, refresh=True)
        return True

    async def wait(self, user_id: int, notify: Notify = silent) -> None:
        """If the user's library is still being read, wait for it (its failure is reported there)."""
        task = self._reads.get(user_id)
        if task is None or task.done() or user_id in self._refreshing:
            return
        await notify("Still reading your Spotify library; your recommendations follow right after…")
        with contextlib.suppress(Exception):
            await asyncio.shield(task)

    def reading(self, user_id: int) -> asyncio.Task[SyncReport] | None:
        """The user's read under way, if any."""
        task = self._reads.get(user_id)
        return task if task is not None and not task.done() else None

    def running(self) -> list[asyncio.Task[SyncReport]]:
        """Every read not finished yet."""
        return [t for t in self._reads.values() if not t.done()]

    def cancel(self, user_id: int) -> None:
        """Stop the user's read under way (unlink, forget)."""
        task = self._reads.pop(user_id, None)
        if task is not None and not task.done():
            task.cancel()

    def cancel_all(self) -> None:
        """Stop every read (shutdown)."""
        for task in self._reads.values():
            task.cancel()


def _safe(notify: Notify) -> Notify:
    """``notify`` that logs and swallows its own failures (a chat hiccup must not stop a read)."""

    async def wrapped(message: str) -> None:
        try:
            await notify(message)
        except Exception:
            log.warning("a progress message could not be delivered", exc_info=True)

    return wrapped


def _read_done(task: asyncio.Task[SyncReport]) -> None:
    if task.cancelled():
        return
    error = task.exception()
    if error is not None and not isinstance(error, UserFacingError):
        log.error("reading a Spotify library failed", exc_info=error)
