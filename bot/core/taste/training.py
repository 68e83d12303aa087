"""Taste models trained in the background: a command never waits for a fit when a model exists.

A user with no model at all first gets a quick one (seconds) so their first answer does not wait
for the full model, which trains right after it. A stale model answers while its successor trains.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.core.errors import UserFacingError
from bot.core.progress import Notify
from bot.core.taste.models import TasteModels, TrainedTaste
from storage.taste_store import TasteStore

log = logging.getLogger(__name__)


class TasteTraining:
    """Schedules, serves and stops the training of users' taste models."""

    def __init__(self, models: TasteModels, taste: TasteStore) -> None:
        self.models = models
        self.taste = taste
        self._training: dict[int, asyncio.Task[TrainedTaste]] = {}
        self._first: dict[int, asyncio.Task[TrainedTaste]] = {}

    def schedule(self, uid: int) -> asyncio.Task[TrainedTaste]:
        """Start (or join) background training of the user's taste model."""
        task = self._training.get(uid)
        if task is None or task.done():
            loop = asyncio.get_running_loop()
            if self.models.cached(uid) is None:
                first = loop.create_task(asyncio.to_thread(self.models.first_model, uid))
                first.add_done_callback(_training_done)
                self._first[uid] = first
            task = loop.create_task(self._full_training(uid))
            task.add_done_callback(_training_done)
            self._training[uid] = task
        return task

    async def _full_training(self, uid: int) -> TrainedTaste:
        first = self._first.get(uid)
        if first is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(first)  # its failure is reported by whoever awaits it
        return await asyncio.to_thread(self.models.load_or_train, uid)

    async def serve(self, uid: int, notify: Notify) -> tuple[TrainedTaste, bool]:
        """(model, is_current): a stale or quick model is served while the full one trains."""
        cached = self.models.cached(uid)
        if cached is not None and await asyncio.to_thread(self.models.is_current, cached, uid):
            return cached, True
        task = self.schedule(uid)
        if cached is not None:
            return cached, False
        first = self._first.get(uid)
        if first is not None:
            if not first.done():
                if await asyncio.to_thread(self.models.has_stored, uid):
                    await notify("Loading your taste model…")
                elif size := await asyncio.to_thread(self.taste.library_size, uid):
                    await notify(
                        f"Learning your taste from {size} tracks (a first pass now, the full "
                        "model in the background)…"
                    )
            trained = await asyncio.shield(first)
            return trained, not trained.quick
        return await asyncio.shield(task), True

    def running(self) -> list[asyncio.Task[TrainedTaste]]:
        """The training jobs not finished yet."""
        tasks = [*self._first.values(), *self._training.values()]
        return [t for t in tasks if not t.done()]

    async def idle(self) -> None:
        """Wait until no training job is running (failures are the jobs' own business)."""
        while running := self.running():
            await asyncio.gather(*running, return_exceptions=True)

    def cancel(self, uid: int) -> None:
        """Stop waiting for the user's training (for /forget; a fit in a thread runs out)."""
        for tasks in (self._training, self._first):
            task = tasks.pop(uid, None)
            if task is not None and not task.done():
                task.cancel()

    def refuse_new(self) -> None:
        """At shutdown: training not begun is refused, and a fit in progress is not saved."""
        self.models.stopping.set()


def _training_done(task: asyncio.Task[TrainedTaste]) -> None:
    if task.cancelled():
        return
    error = task.exception()
    if error is not None and not isinstance(error, UserFacingError):
        log.error("background taste training failed", exc_info=error)
