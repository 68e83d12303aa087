"""Taste models trained through the model-work queue: a command never waits for a fit when a
model exists.

A user with no model at all first gets a quick one (about a second of a worker's time) when a
worker can take it at once; in a busy queue they are answered by a first guess that needs no
training (``TasteModels.first_guess``) instead. Their full model follows either way. A stored
or stale model answers while its successor trains. Fits run in worker processes; here they are
asked for, prioritised and taken in.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bot.core.errors import UserFacingError
from bot.core.model_jobs import Job, TasteJob, TrainedFile, TrainingRefused, taste_key
from bot.core.model_work import ModelWork, Priority
from bot.core.offload import bulk
from bot.core.progress import Notify
from bot.core.taste.models import TasteModels, TrainedTaste, too_little_taste
from storage.taste_store import TasteStore

log = logging.getLogger(__name__)
Training = asyncio.Future[TrainedTaste | None]


class TasteTraining:
    """Asks the queue for users' taste models and serves what there is meanwhile."""

    def __init__(self, models: TasteModels, taste: TasteStore, work: ModelWork) -> None:
        self.models = models
        self.taste = taste
        self.work = work
        self._jobs: dict[str, Training] = {}

    async def schedule(self, uid: int, priority: Priority | None = None) -> Training:
        """Queue the user's full model — after a quick first one when they have no model at
        all — and return the full model's future (None: the stored model was already current).
        ``priority`` defaults to FIRST for a user without a full model, else RETRAIN."""
        has_full = self._has_full(uid) or await asyncio.to_thread(
            self.models.has_stored, uid, False
        )
        if self.models.cached(uid) is None and not has_full and self.work.free():
            # A quick first model only when a worker can take it at once; in a busy queue the
            # listener is answered by a first guess (``first_guess``) until the full model comes.
            self._submit(uid, True, Priority.WAITING)
        if priority is None:
            priority = Priority.RETRAIN if has_full else Priority.FIRST
        return self._submit(uid, False, priority)

    def _has_full(self, uid: int) -> bool:
        return _is_full(self.models.cached(uid))

    def _submit(self, uid: int, quick: bool, priority: Priority) -> Training:
        def prepare() -> Job | None:
            if self.models.has_stored(uid):  # a current model is on disk: nothing to train
                return None
            return self.models.job(uid, quick)

        async def finish(job: Job, answer: TrainedFile) -> TrainedTaste:
            assert isinstance(job, TasteJob)
            return await bulk(self.models.adopt, job, answer)

        key = taste_key(uid, quick)
        future = self.work.submit(key, priority, prepare, finish)
        if self._jobs.get(key) is not future:
            self._jobs[key] = future
            future.add_done_callback(_training_done)
            future.add_done_callback(lambda done: self._forget_job(key, done))
        return future

    def _forget_job(self, key: str, done: Training) -> None:
        """A finished job is let go (its model lives on in the cache, not in the future)."""
        if self._jobs.get(key) is done:
            del self._jobs[key]

    async def serve(self, uid: int, notify: Notify) -> tuple[TrainedTaste, bool]:
        """(model, is_current): a stored, stale or quick model is served while the full one
        trains; with no model at all, the quick one is waited for when a worker could take it at
        once, else a first guess that needs no training answers."""
        cached = self.models.cached(uid)
        if cached is not None and await asyncio.to_thread(self.models.is_current, cached, uid):
            return cached, True
        if cached is None and await asyncio.to_thread(self.models.has_stored, uid, False):
            await notify("Loading your taste model…")
        # A model file read (a second for a big one) waits in the bulk lane; one in memory doesn't.
        stored = cached if _is_full(cached) else await bulk(self.models.load_stored, uid)
        best = stored or cached
        if best is not None and await asyncio.to_thread(self.models.is_current, best, uid):
            return best, True
        full = await self.schedule(uid)
        if best is not None:
            return best, False
        quick = self._jobs.get(taste_key(uid, True))
        if quick is None:
            adopted = self.models.cached(uid)  # the quick one may have come in meanwhile
            if adopted is not None:
                return adopted, await asyncio.to_thread(self.models.is_current, adopted, uid)
            # The queue was busy (no quick model was asked for): a first guess now, no training.
            return await bulk(self.models.first_guess, uid), False
        if not quick.done():
            size = await asyncio.to_thread(self.taste.library_size, uid)
            if size:
                await notify(
                    f"Learning your taste from {size} tracks (a first pass now, the full "
                    "model in the background)…"
                )
        trained = await _taste_of(quick) or await _taste_of(full)
        if trained is None:  # both found a current model on disk since: it is the answer
            trained = await asyncio.to_thread(self.models.load_stored, uid)
        if trained is None:
            raise UserFacingError("Your taste model isn't ready yet; ask again in a moment.")
        return trained, not trained.quick

    def busy(self, uid: int) -> bool:
        """Whether a taste job of ``uid`` waits or runs."""
        return any(
            not f.done() for f in (self._jobs.get(taste_key(uid, q)) for q in (True, False)) if f
        )

    def running(self) -> list[Training]:
        """The taste jobs not finished yet."""
        return [future for future in self._jobs.values() if not future.done()]

    async def idle(self, uid: int | None = None) -> None:
        """Wait until no taste job (of ``uid``, or of anyone) waits or runs."""
        while pending := [
            f
            for key, f in self._jobs.items()
            if not f.done() and (uid is None or key.endswith(f":{uid}"))
        ]:
            await asyncio.wait(pending)

    def cancel(self, uid: int) -> None:
        """Drop the user's taste jobs (for /forget): nothing of them will be stored."""
        for quick in (True, False):
            key = taste_key(uid, quick)
            self.work.cancel(key)
            self._jobs.pop(key, None)


def _is_full(trained: TrainedTaste | None) -> bool:
    """Whether ``trained`` is a full model (not a quick one, not none)."""
    return trained is not None and not trained.quick


async def _taste_of(future: Training) -> TrainedTaste | None:
    """The model a job gave; its failure as the error a listener understands."""
    try:
        return await asyncio.shield(future)
    except TrainingRefused as refused:
        raise too_little_taste(refused.reason) from None


def _training_done(future: Any) -> None:
    if future.cancelled():
        return
    error = future.exception()
    if error is not None and not isinstance(error, UserFacingError | TrainingRefused):
        log.error("a taste model's training failed", exc_info=error)
