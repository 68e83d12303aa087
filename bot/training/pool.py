"""The embedded job runner: a fixed number of worker processes on this machine (the default).

Each worker is a process of its own ("spawn": nothing of the bot's threads or event loop is
copied), started on the first job with the catalog it trains against, niced so the bot's event loop
keeps the CPU it needs, and ended with the bot — also when the bot is killed (a worker notices its
parent is gone and exits). A worker that dies under a job (out of memory, killed) is reported as
``WorkerLost`` and replaced on the next job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

from bot.core.model_jobs import Job, TrainedFile, TrainingRefused, WorkerLost
from bot.training.execute import WorkerCatalog, execute

log = logging.getLogger(__name__)
T = TypeVar("T")
#: How much lower than the bot a worker runs (nice): training yields the CPU to chat replies.
WORKER_NICENESS = 10


def default_processes() -> int:
    """Workers by default: one core stays with the bot (cores − 1, at least 1)."""
    return max(1, (os.cpu_count() or 2) - 1)


class ProcessPool:
    """Runs jobs in ``processes`` worker processes, one job each at a time."""

    def __init__(self, catalog: WorkerCatalog, processes: int | None = None) -> None:
        self.catalog = catalog
        self.processes = processes or default_processes()
        self._slots: list[_Slot] = []
        self._free: asyncio.Queue[_Slot] | None = None
        self._closed = False

    @property
    def capacity(self) -> int:
        """How many jobs run at once."""
        return self.processes

    async def run(self, job: Job) -> TrainedFile:
        """Do ``job`` in the next free worker."""
        if self._closed:
            raise WorkerLost("the worker pool is closed")
        if self._free is None:
            self._free = asyncio.Queue()
            self._slots = [_Slot(self.catalog) for _ in range(self.processes)]
            for slot in self._slots:
                self._free.put_nowait(slot)
        slot = await self._free.get()
        try:
            return await slot.run(job)
        finally:
            self._free.put_nowait(slot)

    def pids(self) -> list[int]:
        """The worker processes alive now (for benchmarks that add up memory)."""
        return [
            s.process.pid
            for s in self._slots
            if s.process is not None and s.process.is_alive() and s.process.pid
        ]

    async def close(self) -> None:
        """End every worker now; a job in progress is abandoned."""
        self._closed = True
        for slot in self._slots:
            slot.stop()
        for slot in self._slots:
            await asyncio.to_thread(slot.join)


class _Slot:
    """One worker process and the pipe to it."""

    def __init__(self, catalog: WorkerCatalog) -> None:
        self.catalog = catalog
        # Its own thread waits on the pipe through a whole training: the default executor's
        # few threads stay free for the chat commands' database reads (with many cores, the
        # workers' waits alone would otherwise fill it).
        self.pipe = ThreadPoolExecutor(1, thread_name_prefix="training-pipe")
        self.process: BaseProcess | None = None
        self.conn: Connection | None = None
        self.closed = False
        # A start (in a thread) and a stop must not interleave: a worker started after the pool
        # closed would outlive the bot.
        self._lock = threading.Lock()

    def _start(self) -> None:
        with self._lock:
            if self.closed:
                raise WorkerLost("the worker pool is closed")
            self._spawn()

    def _spawn(self) -> None:
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        # Not a daemon: scikit-learn runs a daemonic process's forests on one core only. The
        # bot ends its workers itself (close), and a worker outliving the bot ends on its own.
        process = context.Process(
            target=serve, args=(theirs, self.catalog, os.getpid()), name="beatmatch-worker"
        )
        process.start()
        theirs.close()
        self.process, self.conn = process, ours

    async def run(self, job: Job) -> TrainedFile:
        if self.conn is None or self.process is None or not self.process.is_alive():
            self._end()
            await self._in_pipe(self._start)
        conn = self.conn
        if conn is None:
            raise WorkerLost("the worker pool is closed")
        try:
            await self._in_pipe(conn.send, job)
            kind, payload = await self._in_pipe(conn.recv)
        except (EOFError, OSError) as error:
            self._end()
            raise WorkerLost(f"the training worker stopped ({type(error).__name__})") from None
        except asyncio.CancelledError:
            self._end()  # the answer would arrive for nobody: a fresh worker takes the next job
            raise
        if kind == "ok":
            assert isinstance(payload, TrainedFile)
            return payload
        if kind == "refused":
            raise TrainingRefused(str(payload))
        raise RuntimeError(f"training failed in a worker:\n{payload}")

    async def _in_pipe(self, call: Callable[..., T], *args: Any) -> T:
        """``call(*args)`` in this slot's pipe thread."""
        try:
            future = asyncio.get_running_loop().run_in_executor(self.pipe, call, *args)
        except RuntimeError:  # the thread is shut down: the pool closed
            raise WorkerLost("the worker pool is closed") from None
        return await future

    def stop(self) -> None:
        """End the process now (if any); no other starts after."""
        with self._lock:
            self.closed = True
            self._end()
        self.pipe.shutdown(wait=False)  # its thread ends as the pipe closes

    def _end(self) -> None:
        if self.process is not None and self.process.is_alive():
            self.process.kill()
        # Not closed here: a thread may still be reading it (it sees the end of the pipe now that
        # the process is gone); the pipe closes when the last reference to it goes.
        self.conn = None

    def join(self) -> None:
        if self.process is not None:
            self.process.join(timeout=5)


def serve(conn: Connection, catalog: WorkerCatalog, parent: int) -> None:
    """A worker's life: take jobs from ``conn`` and answer each, until the pipe closes."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS)
    threading.Thread(target=_orphan_watch, args=(parent,), daemon=True).start()
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        try:
            answer: tuple[str, object] = ("ok", execute(job, catalog))
        except TrainingRefused as refused:
            answer = ("refused", refused.reason)
        except Exception:
            answer = ("error", traceback.format_exc())
        try:
            conn.send(answer)
        except (EOFError, OSError):
            return


def _orphan_watch(parent: int) -> None:
    """End this worker when the bot that started it is gone (killed, crashed)."""
    while True:
        if os.getppid() != parent:
            os._exit(0)
        time.sleep(1.0)
