"""What the bot and its ``beatmatch worker`` processes agree on over Redis (RQ).

One RQ queue per bot (``training.queue``), JSON-serialised jobs that can only ever call one
function, ``bot.training.worker.train``, with one JSON object (``bot.training.codec``) as its
argument; the catalog stored once per version beside the queue; and a short-lived key per
worker that says it is alive, so the bot learns within seconds that a worker died under a job.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from redis import Redis
from rq import Queue
from rq.job import Job as RQJob
from rq.serializers import JSONSerializer

from bot.core.model_jobs import GenreJob, Job, TasteJob

#: The one function a beatmatch job may call.
TRAIN = "bot.training.worker.train"
#: A worker refreshes its "alive" key this often, and the key lapses this long after the last one.
ALIVE_EVERY = 2.0
ALIVE_TTL = 10
#: The catalog stays in Redis this long after a job last named it (seconds).
CATALOG_TTL = 30 * 24 * 3600


class RefusedJob(Exception):
    """A job in the queue that is not beatmatch's training: it is never run."""


class TrainingJob(RQJob):
    """An RQ job that can only call ``TRAIN`` with one JSON object: whatever else a job read from
    Redis names — another function, an instance method, success/failure/stopped callbacks,
    webhooks — is refused or dropped, so writing to Redis is never a way to run code here."""

    @property
    def func(self) -> Any:
        if self.func_name != TRAIN or self.instance is not None:
            raise RefusedJob(f"job {self.id} calls {self.func_name!r}: only {TRAIN} runs here")
        if len(self.args) != 1 or not isinstance(self.args[0], dict) or self.kwargs:
            raise RefusedJob(f"job {self.id} does not carry one JSON object")
        from bot.training.worker import train

        return train

    @property
    def success_callback(self) -> None:
        return None

    @property
    def failure_callback(self) -> None:
        return None

    @property
    def stopped_callback(self) -> None:
        return None

    def restore(self, raw_data: Any) -> Any:
        result = super().restore(raw_data)
        self.webhooks = []  # never sent: they would make a worker call any address
        self._success_callback_name = self._failure_callback_name = None
        self._stopped_callback_name = None
        return result


def training_queue(connection: Redis, name: str) -> Queue:
    """The RQ queue ``name`` with JSON jobs of ``TrainingJob`` (never pickle)."""
    return Queue(name, connection=connection, serializer=JSONSerializer, job_class=TrainingJob)


def catalog_key(queue: str, fingerprint: str) -> str:
    """Where the catalog of version ``fingerprint`` is stored for the workers of ``queue``."""
    return f"beatmatch:{queue}:catalog:{fingerprint}"


def alive_key(queue: str, worker: str) -> str:
    """The key that exists while ``worker`` of ``queue`` is alive."""
    return f"beatmatch:{queue}:alive:{worker}"


def taker_key(queue: str, job_id: str) -> str:
    """The key naming the worker that took job ``job_id`` from ``queue`` (set before it starts:
    a worker that dies between taking a job and starting it is noticed too)."""
    return f"beatmatch:{queue}:taken:{job_id}"


def describe(job: Job) -> str:
    """A job in a few words, for logs (never its data)."""
    if isinstance(job, TasteJob):
        return f"{'quick ' if job.quick else ''}taste model of user {job.user_id}"
    assert isinstance(job, GenreJob)
    return f"genre classifier of catalog {job.catalog}"


def redacted(url: str) -> str:
    """A Redis URL without its password, for logs and messages."""
    parts = urlsplit(url)
    where = f"{parts.hostname or 'localhost'}:{parts.port or 6379}"
    return f"{parts.scheme}://{where}{parts.path}" if parts.scheme else where
