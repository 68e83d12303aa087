"""The job runner on RQ: model work done by ``beatmatch worker`` processes on any machine.

The bot enqueues each job on its RQ queue as JSON (``bot.training.codec``), keeps at most
``capacity`` of them in flight, and waits for each answer in a thread of its own (RQ and redis-py
block), so the event loop never waits on Redis. Before the first job of a catalog version it
stores that catalog once in Redis, where workers fetch it once.

How a job ends, as the ``JobRunner`` port says it: the worker's answer (the model file and the
catalog's scores); ``TrainingRefused`` when the worker says the data can't make a model;
``WorkerLost`` when the worker died under the job (its work-horse was killed, or the worker
stopped saying it is alive) or Redis failed — the job is not retried by RQ: the bot's queue
asks again when it next needs the model; RuntimeError with the worker's traceback for any other
failure.
Cancelling the awaiting task cancels the job: a queued one never runs, a started one is stopped
(RQ kills its work-horse), and an answer that still comes is ignored. Jobs are deleted from Redis
once their answer is read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from redis import Redis, RedisError
from rq.command import send_stop_job_command
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job as RQJob
from rq.job import JobStatus
from rq.results import Result
from rq.serializers import JSONSerializer
from rq.worker import Worker

from bot.core.model_jobs import Job, TrainedFile, WorkerLost
from bot.training.codec import CodecError, answer_from_json, catalog_to_bytes, job_to_json
from bot.training.execute import WorkerCatalog
from bot.training.redis_queue import (
    CATALOG_TTL,
    TRAIN,
    TrainingJob,
    alive_key,
    catalog_key,
    describe,
    redacted,
    taker_key,
    training_queue,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
#: Jobs in flight when ``training.workers`` is 0.
DEFAULT_CAPACITY = 2
#: RQ stops a fit that runs longer (a genre model on a busy machine takes minutes, not an hour).
JOB_TIMEOUT = 3600
#: How long a job may wait in the queue, and its answer or failure stay, if nobody reads them.
QUEUED_TTL = 24 * 3600
RESULT_TTL = 3600
#: How long one blocking read for an answer lasts (seconds); between reads the job is checked.
POLL_SECONDS = 1
#: ``close`` gives cancelling the jobs in flight this long (the port wants it quick).
CLOSE_SECONDS = 0.8
NO_WORKER_WARNING_EVERY = 300.0
#: A job in one of these states will not run (on).
ENDED = (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)
#: How a worker's failure says the worker, not the job, failed.
LOST_MARKS = (
    "Work-horse terminated unexpectedly",
    "Job stopped by user",
    "AbandonedJobError",
    "stuck in intermediate queue",
)


@dataclass
class _Flight:
    """A job the bot waits for."""

    job_id: str
    what: str
    abandoned: threading.Event = field(default_factory=threading.Event)
    enqueued: threading.Event = field(default_factory=threading.Event)


class RedisRunner:
    """Runs jobs on ``beatmatch worker`` processes through the RQ queue ``queue_name``."""

    def __init__(
        self, redis_url: str, queue_name: str, catalog: WorkerCatalog, capacity: int = 0
    ) -> None:
        self.redis_url = redis_url
        self.queue_name = queue_name
        self.catalog = catalog
        self._capacity = capacity if capacity > 0 else DEFAULT_CAPACITY
        self.connection = Redis.from_url(
            redis_url, socket_connect_timeout=5, socket_timeout=10 + POLL_SECONDS
        )
        self.queue = training_queue(self.connection, queue_name)
        self.catalog_uploads = 0
        self._catalog_lock = threading.Lock()
        self._slots: asyncio.Semaphore | None = None
        self._flights: dict[str, _Flight] = {}
        self._cancelling: set[asyncio.Future[None]] = set()
        self._closed = False
        self._warned_at = -NO_WORKER_WARNING_EVERY

    @property
    def capacity(self) -> int:
        """How many jobs are in flight at once."""
        return self._capacity

    def jobs(self) -> dict[str, str]:
        """The RQ job ids in flight now, with what each is (for logs, tests and benchmarks)."""
        return {f.job_id: f.what for f in self._flights.values()}

    async def run(self, job: Job) -> TrainedFile:
        """Have a worker do ``job`` and return its answer (see the module's note)."""
        if self._closed:
            raise WorkerLost("the training queue is closed")
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._capacity)
        async with self._slots:
            flight = _Flight(uuid.uuid4().hex, describe(job))
            self._flights[flight.job_id] = flight
            try:
                await _in_thread(self._enqueue, job, flight)
                return await _in_thread(self._wait, flight)
            except asyncio.CancelledError:
                self._cancel_soon(flight)
                raise
            except RedisError as error:  # the job's fate is unknown: as good as lost
                self._cancel_soon(flight)
                where = redacted(self.redis_url)
                raise WorkerLost(f"{flight.what}: Redis at {where} failed ({error})") from None
            finally:
                self._flights.pop(flight.job_id, None)

    async def close(self) -> None:
        """Cancel the jobs in flight (queued ones never run, started ones are stopped) and stop
        taking jobs; returns within about a second even when Redis does not answer."""
        self._closed = True
        for flight in list(self._flights.values()):
            self._cancel_soon(flight)
        if self._cancelling:
            await asyncio.wait(self._cancelling, timeout=CLOSE_SECONDS)

    # -- in threads: enqueue, wait, cancel ---------------------------------------------------------
    def _enqueue(self, job: Job, flight: _Flight) -> None:
        try:
            if job.catalog != self.catalog.fingerprint:
                raise RuntimeError(
                    f"{flight.what} names catalog {job.catalog}; this bot holds "
                    f"{self.catalog.fingerprint}"
                )
            self._store_catalog()
            self._warn_without_workers()
            self.queue.enqueue(
                TRAIN,
                job_to_json(job),
                job_id=flight.job_id,
                description=flight.what,
                job_timeout=JOB_TIMEOUT,
                result_ttl=RESULT_TTL,
                failure_ttl=RESULT_TTL,
                ttl=QUEUED_TTL,
            )
            log.debug("job %s queued: %s", flight.job_id, flight.what)
        finally:
            flight.enqueued.set()

    def _store_catalog(self) -> None:
        """Store this bot's catalog for the workers unless it is there (kept another TTL)."""
        key = catalog_key(self.queue_name, self.catalog.fingerprint)
        with self._catalog_lock:
            if self.connection.expire(key, CATALOG_TTL):
                return
            started = time.perf_counter()
            data = catalog_to_bytes(self.catalog)
            if self.connection.set(key, data, nx=True, ex=CATALOG_TTL):
                self.catalog_uploads += 1
                log.info(
                    "catalog %s stored in Redis for the workers: %.1f MB in %.1f s",
                    self.catalog.fingerprint,
                    len(data) / 2**20,
                    time.perf_counter() - started,
                )

    def _warn_without_workers(self) -> None:
        now = time.monotonic()
        if now - self._warned_at < NO_WORKER_WARNING_EVERY:
            return
        if Worker.count(connection=self.connection, queue=self.queue) == 0:
            self._warned_at = now
            log.warning(
                "no beatmatch worker takes jobs from queue %r on %s: model work waits until one "
                "starts (beatmatch worker --redis URL --queue %s)",
                self.queue_name,
                redacted(self.redis_url),
                self.queue_name,
            )

    def _wait(self, flight: _Flight) -> TrainedFile:
        """Block until the job has an answer, its worker is lost, or the bot gives up on it."""
        try:
            job = TrainingJob.fetch(flight.job_id, self.connection, serializer=JSONSerializer)
        except NoSuchJobError:
            raise WorkerLost(f"{flight.what}: the job vanished from Redis") from None
        while not flight.abandoned.is_set():
            result = self._result(flight, job, POLL_SECONDS)
            if result is not None:
                return self._answer(flight, result)
            try:
                status = job.get_status(refresh=True)
            except InvalidJobOperation:
                raise WorkerLost(f"{flight.what}: the job vanished from Redis") from None
            if status in (JobStatus.QUEUED, JobStatus.STARTED) and not self._worker_alive(job):
                time.sleep(0.2)  # an answer written just before the worker ended still counts
            elif status not in ENDED:
                continue
            result = self._result(flight, job, 0)
            if result is not None:
                return self._answer(flight, result)
            worker = self._taker(job.id) or "?"
            self._forget(flight.job_id)
            raise WorkerLost(f"{flight.what}: worker {worker} stopped answering ({status.value})")
        raise WorkerLost(f"{flight.what}: abandoned")  # nobody awaits this any more

    def _result(self, flight: _Flight, job: RQJob, block: int) -> Result | None:
        """The job's latest result (waiting up to ``block`` seconds for one), if final."""
        try:
            result = Result.fetch_latest(job, serializer=JSONSerializer, timeout=block)
        except RedisError:
            raise
        except Exception as error:  # not JSON: not what a beatmatch worker writes
            self._forget(flight.job_id)
            raise RuntimeError(f"{flight.what}: unreadable answer ({error})") from None
        if result is None or result.type == Result.Type.RETRIED:
            return None
        return result

    def _answer(self, flight: _Flight, result: Result) -> TrainedFile:
        """The job's answer, or its failure as the port's error; the job is deleted either way."""
        try:
            if result.type == Result.Type.SUCCESSFUL:
                try:
                    return answer_from_json(result.return_value)
                except CodecError as error:
                    raise RuntimeError(f"{flight.what}: not a beatmatch answer ({error})") from None
            text = result.exc_string or ""
            if any(mark in text for mark in LOST_MARKS):
                raise WorkerLost(f"{flight.what}: {text.strip().splitlines()[-1]}")
            raise RuntimeError(f"training failed in a worker ({flight.what}):\n{text}")
        finally:
            self._forget(flight.job_id)

    def _taker(self, job_id: str) -> str | None:
        """The worker that took the job from the queue, if one did."""
        name = self.connection.get(taker_key(self.queue_name, job_id))
        return name.decode() if isinstance(name, bytes) else None

    def _worker_alive(self, job: RQJob) -> bool:
        """False when a worker took the job and no longer says it is alive (it says so every
        few seconds: a worker killed, or its machine gone, is known within ``ALIVE_TTL``)."""
        worker = self._taker(job.id)
        return worker is None or bool(self.connection.exists(alive_key(self.queue_name, worker)))

    def _forget(self, job_id: str) -> None:
        """Delete the job and its answer from Redis (they hold a listener's library)."""
        with contextlib.suppress(RedisError):
            self.connection.delete(taker_key(self.queue_name, job_id))
        with contextlib.suppress(RedisError, NoSuchJobError):
            TrainingJob.fetch(job_id, self.connection, serializer=JSONSerializer).delete()

    def _cancel_soon(self, flight: _Flight) -> None:
        """Cancel the job in a thread (the event loop never waits on Redis)."""
        flight.abandoned.set()
        future = asyncio.ensure_future(_in_thread(self._cancel, flight))
        self._cancelling.add(future)
        future.add_done_callback(self._cancelled)

    def _cancelled(self, future: asyncio.Future[None]) -> None:
        self._cancelling.discard(future)
        if not future.cancelled() and future.exception() is not None:
            log.warning("cancelling a training job failed: %s", future.exception())

    def _cancel(self, flight: _Flight) -> None:
        """A queued job is cancelled and deleted (it never runs); a started one is stopped."""
        flight.enqueued.wait(timeout=30)
        try:
            job = TrainingJob.fetch(flight.job_id, self.connection, serializer=JSONSerializer)
            status = job.get_status(refresh=True)
        except (NoSuchJobError, InvalidJobOperation):
            return
        if status in (JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED):
            with contextlib.suppress(InvalidJobOperation):
                job.cancel()
            if self._taker(job.id) is None:  # no worker took it meanwhile
                job.delete()
                log.info("job %s cancelled before it started: %s", job.id, flight.what)
                return
        if status in (JobStatus.QUEUED, JobStatus.STARTED):
            with contextlib.suppress(InvalidJobOperation, NoSuchJobError):
                send_stop_job_command(self.connection, job.id, serializer=JSONSerializer)
                log.info("job %s stopped: %s", job.id, flight.what)


def _in_thread(function: Callable[..., T], *args: Any) -> asyncio.Future[T]:
    """``function(*args)`` in a daemon thread of its own, as a future of the running loop.

    Not the loop's default executor: a wait for an answer blocks its thread for as long as a fit
    runs, and a daemon thread never holds the process up at exit (a shutdown stays quick even
    when Redis does not answer)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def work() -> None:
        try:
            result, error = function(*args), None
        except BaseException as caught:
            result, error = None, caught
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=work, name="beatmatch-redis", daemon=True).start()
    return future
