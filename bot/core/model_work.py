"""One queue for all model work: bounded, prioritised, one pending job per key, cancellable.

Training runs in worker processes (the ``JobRunner`` port: the embedded process pool, or
``beatmatch worker`` processes on Redis), never in the bot's process. The queue keeps at most
``runner.capacity`` jobs running; the rest wait by priority (a listener waiting for a first model
before a first full model before a retrain after a like or an import before a new catalog's genre
model before a background refresh), then by age. A job's inputs are read when it starts, not when
it is asked for, so a second request for the same key while the first still waits simply joins it
(and the job learns from the newest data). ``stop`` drops what waits and has the runner stop its
workers at once, so a shutdown never waits for a fit.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Generic, TypeVar

from bot.core.errors import Restarting, UserFacingError, Withdrawn
from bot.core.metrics import FAILED, NO_METER, OK, Meter
from bot.core.model_jobs import Job, TrainedFile
from bot.core.offload import bulk
from bot.core.ports import JobRunner

log = logging.getLogger(__name__)
T = TypeVar("T")
#: Reads a job's inputs when it starts (blocking: runs in a thread); None: nothing to do.
Prepare = Callable[[], Job | None]
#: Takes the worker's answer in (write the file, remember the model); runs in the bot.
Finish = Callable[[Job, TrainedFile], Awaitable[T]]


class Priority(IntEnum):
    """Who waits for a job, most urgent first."""

    WAITING = 0  # a listener waits for their first (quick) model
    FIRST = 1  # a listener's first full model
    RETRAIN = 2  # after an import, a like, a link, or a model trained on an older catalog
    CATALOG = 3  # the genre classifier of a catalog
    REFRESH = 4  # a linked library read again in the background


@dataclass
class _Entry(Generic[T]):
    key: str
    priority: int
    order: int
    prepare: Prepare
    finish: Finish[T]
    future: asyncio.Future[T | None]
    task: asyncio.Task[None] | None = None
    cancelled: bool = False

    def rank(self) -> tuple[int, int]:
        return self.priority, self.order


@dataclass
class _State:
    pending: dict[str, _Entry[Any]] = field(default_factory=dict)
    running: dict[str, _Entry[Any]] = field(default_factory=dict)


class ModelWork:
    """The bot's model-work queue over a ``JobRunner``."""

    def __init__(self, runner: JobRunner, meter: Meter = NO_METER) -> None:
        self.runner = runner
        self.meter = meter  # jobs queued, waiting and running, seconds each ran
        self._state = _State()
        self._order = itertools.count()
        self._wake: asyncio.Event | None = None
        self._dispatcher: asyncio.Task[None] | None = None
        self._stopped = False

    @property
    def capacity(self) -> int:
        """How many jobs run at once."""
        return max(1, self.runner.capacity)

    def submit(
        self, key: str, priority: int, prepare: Prepare, finish: Finish[T]
    ) -> asyncio.Future[T | None]:
        """Queue a job for ``key`` (or join the one waiting); the future gives ``finish``'s result,
        None when ``prepare`` found nothing to do. After ``stop`` the future fails (Restarting)."""
        loop = asyncio.get_running_loop()
        waiting = self._state.pending.get(key)
        if waiting is not None and not self._stopped:
            waiting.priority = min(waiting.priority, int(priority))
            waiting.prepare, waiting.finish = prepare, finish
            self._poke()
            return waiting.future
        future: asyncio.Future[T | None] = loop.create_future()
        if self._stopped:
            _fail(future, Restarting())
            return future
        entry = _Entry(key, int(priority), next(self._order), prepare, finish, future)
        self._state.pending[key] = entry
        self.meter.job_queued(kind_of(key))
        self._count()
        self._start_dispatcher()
        self._poke()
        return future

    def waiting(self, key: str) -> bool:
        """Whether a job for ``key`` waits to start."""
        return key in self._state.pending

    def running(self, key: str) -> bool:
        """Whether a job for ``key`` is being done."""
        return key in self._state.running

    def busy(self) -> int:
        """Jobs waiting or running."""
        return len(self._state.pending) + len(self._state.running)

    def free(self) -> bool:
        """Whether a job submitted now would start at once: nothing waits and a worker is idle."""
        return not self._state.pending and len(self._state.running) < self.capacity

    def cancel(self, key: str, reason: UserFacingError | None = None) -> None:
        """Drop the job of ``key``: a waiting one never starts, a running one is abandoned and
        nothing of it is stored; whoever waits for it is told ``reason`` (default: Withdrawn)."""
        for jobs in (self._state.pending, self._state.running):
            entry = jobs.pop(key, None)
            if entry is not None:
                entry.cancelled = True
                _fail(entry.future, reason or Withdrawn())
                if entry.task is not None:
                    entry.task.cancel()
        self._poke()

    async def idle(self) -> None:
        """Wait until nothing waits or runs (for tests, benchmarks and a console leaving)."""
        while self._state.pending or self._state.running:
            futures = [
                e.future for e in (*self._state.pending.values(), *self._state.running.values())
            ]
            await asyncio.wait(futures)

    async def stop(self) -> None:
        """Drop every job and stop the workers now (a fit in progress is abandoned)."""
        self._stopped = True
        for key in [*self._state.pending, *self._state.running]:
            self.cancel(key, Restarting())
        if self._dispatcher is not None:
            self._dispatcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._dispatcher
        await self.runner.close()

    # -- the dispatcher ---------------------------------------------------------------------------
    def _poke(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def _start_dispatcher(self) -> None:
        if self._dispatcher is None or self._dispatcher.done():
            self._wake = asyncio.Event()
            self._dispatcher = asyncio.get_running_loop().create_task(self._dispatch())

    async def _dispatch(self) -> None:
        assert self._wake is not None
        while True:
            while self._state.pending and len(self._state.running) < self.capacity:
                entry = min(self._state.pending.values(), key=_Entry.rank)
                if entry.key in self._state.running:
                    # The same key is being done: its next run waits for it (then reads anew).
                    others = [
                        e for e in self._state.pending.values() if e.key not in self._state.running
                    ]
                    if not others:
                        break
                    entry = min(others, key=_Entry.rank)
                del self._state.pending[entry.key]
                self._state.running[entry.key] = entry
                entry.task = asyncio.get_running_loop().create_task(self._run(entry))
                self._count()
            self._wake.clear()
            await self._wake.wait()

    def _count(self) -> None:
        self.meter.jobs(len(self._state.pending), len(self._state.running))

    async def _run(self, entry: _Entry[Any]) -> None:
        started = time.perf_counter()
        outcome_label = FAILED
        try:
            job = await bulk(entry.prepare)
            if job is None:
                outcome = None
            else:
                answer = await self.runner.run(job)
                if entry.cancelled:
                    return
                outcome = await entry.finish(job, answer)
            if not entry.future.done():
                entry.future.set_result(outcome)
            outcome_label = OK
        except asyncio.CancelledError:
            _fail(entry.future, Withdrawn())
            raise
        except Exception as error:
            _fail(entry.future, error)
        finally:
            if self._state.running.get(entry.key) is entry:
                del self._state.running[entry.key]
            self.meter.job_done(kind_of(entry.key), outcome_label, time.perf_counter() - started)
            self._count()
            self._poke()


def kind_of(key: str) -> str:
    """A job key's kind, for metrics ("taste:7" → "taste", "taste-quick:7" → "taste-quick")."""
    return key.split(":", 1)[0]


def _fail(future: asyncio.Future[Any], error: BaseException) -> None:
    """Fail ``future`` with ``error`` unless it is settled (marked retrieved: those who wait see
    it, nobody else gets a "never retrieved" warning)."""
    if not future.done():
        future.set_exception(error)
        future.exception()
