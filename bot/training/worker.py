"""``beatmatch worker``: a process, on this machine or another, that trains models for a bot.

It takes jobs from the bot's RQ queue on Redis, one at a time, and answers each with the model's
file (and a taste model's catalog scores) — the same ``execute`` the embedded pool runs. Jobs and
answers are JSON (``bot.training.codec``); a job naming anything but ``train`` is refused
(``TrainingJob``). The catalog comes from Redis the first time a job names its version and stays
in memory (the latest two versions).

Why RQ's forking ``Worker`` and not ``SimpleWorker``: each job runs in a work-horse forked from
this process, so the catalog held here (fetched *before* the fork) is in every horse without
being copied or fetched again, while everything a fit allocates is given back when its horse
ends. The fork also gives what a training worker needs: a horse killed mid-fit (out of memory,
``kill``) is seen at once and its job failed rather than left running; the bot can stop a job
(RQ's stop-job command kills the horse); and this process keeps heart-beating while a horse fits.
A ``SimpleWorker`` would run fits in this process's only thread: no stop, no heartbeat, and a
crash would take the catalog with it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import time
from collections import OrderedDict
from types import FrameType
from typing import Any

from redis import Redis, RedisError
from rq import Queue, Worker
from rq.exceptions import InvalidJobOperation, NoSuchJobError, StopRequested
from rq.intermediate_queue import IntermediateQueue
from rq.job import Job as RQJob
from rq.job import JobStatus
from rq.serializers import JSONSerializer

from bot.core.model_jobs import TrainingRefused
from bot.training.codec import answer_to_json, catalog_from_bytes, job_from_json
from bot.training.execute import WorkerCatalog, execute
from bot.training.pool import WORKER_NICENESS
from bot.training.redis_queue import (
    ALIVE_EVERY,
    ALIVE_TTL,
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
#: How long the note of who took a job stays (the bot deletes it with the job).
TAKEN_TTL = 24 * 3600
#: Catalog versions a worker keeps in memory (a new catalog's jobs and the last old ones).
CATALOGS_KEPT = 2


class CatalogMissing(Exception):
    """A job names a catalog version that is not in Redis (the bot stores it before enqueuing)."""


class CatalogCache:
    """The catalogs this worker holds, fetched from Redis once per version."""

    def __init__(self, connection: Redis, queue: str, keep: int = CATALOGS_KEPT) -> None:
        self.connection = connection
        self.queue = queue
        self.keep = keep
        self._held: OrderedDict[str, WorkerCatalog] = OrderedDict()

    def get(self, fingerprint: str) -> WorkerCatalog:
        """The catalog of version ``fingerprint``: held, or fetched now (then held)."""
        held = self._held.get(fingerprint)
        if held is not None:
            self._held.move_to_end(fingerprint)
            return held
        started = time.perf_counter()
        data = self.connection.get(catalog_key(self.queue, fingerprint))
        if not isinstance(data, bytes):
            raise CatalogMissing(f"catalog {fingerprint} is not in Redis (queue {self.queue!r})")
        catalog = catalog_from_bytes(data, fingerprint)
        self._held[fingerprint] = catalog
        while len(self._held) > self.keep:
            self._held.popitem(last=False)
        log.info(
            "catalog %s fetched: %d tracks, %.1f MB in %.1f s",
            fingerprint,
            len(catalog.tracks),
            len(data) / 2**20,
            time.perf_counter() - started,
        )
        return catalog

    def holds(self, fingerprint: str) -> bool:
        """Whether version ``fingerprint`` is in memory."""
        return fingerprint in self._held


#: The catalogs of this worker process: set by ``main`` before any job, read by the work-horses
#: (which inherit it with the fork).
_catalogs: CatalogCache | None = None


def train(payload: dict[str, Any]) -> dict[str, Any]:
    """The job function: do the job ``payload`` describes; answer as JSON (a refusal included).

    Runs in a work-horse. Anything that is not a beatmatch job fails here, before any work."""
    job = job_from_json(payload)
    catalogs = _catalogs or _catalogs_of_current_job()
    catalog = catalogs.get(job.catalog)
    log.info("%s: training", describe(job))
    try:
        answer = execute(job, catalog)
    except TrainingRefused as refused:
        log.info("%s: refused (%s)", describe(job), refused.reason)
        return answer_to_json(refused)
    log.info("%s: trained in %.1f s", describe(job), answer.seconds)
    return answer_to_json(answer)


def _catalogs_of_current_job() -> CatalogCache:
    """A cache for a horse of a worker that did not start through ``main``."""
    from rq import get_current_job

    current = get_current_job()
    if current is None:
        raise CatalogMissing("no catalog cache and no current job")
    return CatalogCache(current.connection, current.origin, keep=1)


class TrainingWorker(Worker):
    """RQ's forking worker (see the module's note), with the catalog fetched before each fork,
    a key that says it is alive, niced horses that end with it, and a SIGTERM that ends it now:
    a job in progress is abandoned (the bot hears its worker was lost) rather than waited for."""

    def __init__(
        self, queues: list[Queue], connection: Redis, catalogs: CatalogCache, **kwargs: Any
    ) -> None:
        super().__init__(
            queues,
            connection=connection,
            serializer=JSONSerializer,
            job_class=TrainingJob,
            **kwargs,
        )
        self.catalogs = catalogs
        self._working = False
        self._alive_stop = threading.Event()
        self._alive_thread: threading.Thread | None = None

    # -- alive -------------------------------------------------------------------------------------
    def bootstrap(self, *args: Any, **kwargs: Any) -> None:
        super().bootstrap(*args, **kwargs)
        self._beat()
        self._alive_thread = threading.Thread(
            target=self._keep_alive, name="beatmatch-alive", daemon=True
        )
        self._alive_thread.start()

    @property
    def _alive_key(self) -> str:
        return alive_key(self.queues[0].name, self.name)

    def _beat(self) -> None:
        self.connection.set(self._alive_key, os.getpid(), ex=ALIVE_TTL)

    def _keep_alive(self) -> None:
        while not self._alive_stop.wait(ALIVE_EVERY):
            try:
                self._beat()
            except RedisError as error:
                log.warning("can't tell Redis this worker is alive: %s", error)

    def teardown(self) -> None:
        self._alive_stop.set()
        if self._alive_thread is not None:
            self._alive_thread.join(timeout=5)
        with contextlib.suppress(RedisError):
            self.connection.delete(self._alive_key)
        super().teardown()

    # -- stopping ----------------------------------------------------------------------------------
    def _install_signal_handlers(self) -> None:
        signal.signal(signal.SIGINT, self._stop_now)
        signal.signal(signal.SIGTERM, self._stop_now)

    def _stop_now(self, signum: int, frame: FrameType | None) -> None:
        """SIGTERM/SIGINT: stop now; a job in progress is abandoned (its horse is killed)."""
        log.info("worker %s: signal %d, stopping", self.name, signum)
        self._stop_requested = True
        if self.horse_pid:
            log.warning("worker %s: the job in progress is abandoned", self.name)
            self.kill_horse()
        elif not self._working:
            raise StopRequested()
        # else: between taking a job and forking for it: fork_work_horse ends the horse at once.

    # -- a job -------------------------------------------------------------------------------------
    def dequeue_job_and_maintain_ttl(
        self, timeout: int | None, max_idle_time: int | None = None
    ) -> tuple[RQJob, Queue] | None:
        """The next job; one whose stored form RQ can't even read is dropped (with a warning)
        rather than ending the worker, as RQ would."""
        while True:
            try:
                return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
            except (StopRequested, RedisError):
                raise
            except Exception as error:
                job_id = getattr(error, "job_id", None)
                log.warning("job %s refused: not an RQ job (%s)", job_id, error)
                queue = getattr(error, "queue", None)
                if job_id and isinstance(queue, Queue):
                    IntermediateQueue(queue.key, connection=self.connection).remove(job_id)

    def execute_job(self, job: RQJob, queue: Queue) -> None:
        self._working = True
        try:
            self.connection.set(taker_key(queue.name, job.id), self.name, ex=TAKEN_TTL)
            if _cancelled(job):
                log.info("job %s was cancelled before it started: skipped", job.id)
                IntermediateQueue(queue.key, connection=self.connection).remove(job.id)
                return
            fingerprint = _named_catalog(job)
            if fingerprint is not None and not self.catalogs.holds(fingerprint):
                try:
                    self.catalogs.get(fingerprint)
                except Exception as error:  # the horse fails the job with the reason
                    log.warning("job %s: catalog %s unavailable: %s", job.id, fingerprint, error)
            started = time.perf_counter()
            super().execute_job(job, queue)
            log.info("job %s ended after %.1f s", job.id, time.perf_counter() - started)
        finally:
            self._working = False

    def fork_work_horse(self, job: RQJob, queue: Queue) -> None:
        super().fork_work_horse(job, queue)  # the horse never returns from it
        if self._stop_requested:
            self.kill_horse()

    def main_work_horse(self, job: RQJob, queue: Queue) -> None:
        with contextlib.suppress(OSError):
            os.nice(WORKER_NICENESS)  # a bot on the same machine keeps the CPU it needs
        parent = os.getppid()
        threading.Thread(target=_end_with_parent, args=(parent,), daemon=True).start()
        super().main_work_horse(job, queue)


def _named_catalog(job: RQJob) -> str | None:
    """The catalog version a job names, when it is a beatmatch job at all."""
    try:
        if job.func_name != TRAIN or len(job.args) != 1 or not isinstance(job.args[0], dict):
            return None
        catalog = job.args[0].get("catalog")
    except Exception:  # not JSON, not a job: its horse refuses it
        return None
    return catalog if isinstance(catalog, str) else None


def _cancelled(job: RQJob) -> bool:
    """Whether the bot cancelled (or deleted) the job since it was taken from the queue."""
    try:
        return job.get_status(refresh=True) == JobStatus.CANCELED
    except (NoSuchJobError, InvalidJobOperation):
        return True


def _end_with_parent(parent: int) -> None:
    """End this work-horse when its worker is gone (killed): nobody would take its answer."""
    while True:
        if os.getppid() != parent:
            os._exit(1)
        time.sleep(1.0)


def _preload() -> None:
    """Import the model libraries once here, so every forked horse has them loaded."""
    import recommender.genre
    import recommender.taste  # noqa: F401


def main(redis_url: str, queue: str, *, burst: bool = False, level: str = "INFO") -> int:
    """Take training jobs from ``queue`` on ``redis_url`` until SIGTERM (or, with ``burst``,
    until the queue is empty). RedisError when Redis can't be reached."""
    global _catalogs
    connection = Redis.from_url(redis_url, socket_connect_timeout=10, health_check_interval=30)
    connection.ping()
    _preload()
    _catalogs = CatalogCache(connection, queue)
    worker = TrainingWorker(
        [training_queue(connection, queue)],
        connection,
        _catalogs,
        name=f"beatmatch-{socket.gethostname()}-{os.getpid()}",
    )
    log.info(
        "beatmatch worker %s: training jobs from queue %r on %s%s",
        worker.name,
        queue,
        redacted(redis_url),
        " (until the queue is empty)" if burst else "",
    )
    worker.work(burst=burst, logging_level=level, with_scheduler=False)
    log.info("beatmatch worker %s: stopped", worker.name)
    return 0
