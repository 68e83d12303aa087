"""A real ``redis-server`` for tests, and real ``beatmatch worker`` processes against it.

The server listens on a free loopback port, keeps nothing on disk (no RDB, no AOF) and lives in a
temporary folder; it is stopped when the test (or module) is done. Where the binary is absent the
tests that need it are skipped, saying so; ``make test`` installs it (Debian's ``redis-server``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import ROOT

#: Generous: the suite runs on a busy 2-core machine, and a worker imports the model libraries.
START_SECONDS = 120.0


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class RedisServer:
    """A ``redis-server`` process of a test."""

    process: subprocess.Popen[bytes]
    port: int
    folder: Path

    @property
    def url(self) -> str:
        """The ``redis://`` URL of database 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log(self) -> str:
        """What the server logged."""
        path = self.folder / "redis.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def answers(self) -> bool:
        """Whether it answers PING."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1.0) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False


@contextlib.contextmanager
def redis_server(folder: Path) -> Iterator[RedisServer]:
    """Run ``redis-server`` on a free loopback port with no persistence, in ``folder``."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server; make test does)")
    folder.mkdir(parents=True, exist_ok=True)
    server = None
    for _ in range(5):  # another process may take the free port first
        port = free_port()
        arguments = [
            binary,
            *("--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder)),
            *("--save", "", "--appendonly", "no", "--daemonize", "no"),
            *("--logfile", str(folder / "redis.log"), "--loglevel", "warning"),
        ]
        process = subprocess.Popen(arguments, stdin=subprocess.DEVNULL)
        candidate = RedisServer(process, port, folder)
        deadline = time.monotonic() + 30
        while process.poll() is None and time.monotonic() < deadline:
            if candidate.answers():
                server = candidate
                break
            time.sleep(0.05)
        if server is not None:
            break
        _stop(process)
    if server is None:
        raise RuntimeError(f"redis-server did not start:\n{(folder / 'redis.log').read_text()}")
    try:
        yield server
    finally:
        _stop(server.process)


@dataclass
class WorkerProcess:
    """A ``beatmatch worker`` subprocess and its log."""

    process: subprocess.Popen[bytes]
    log_path: Path
    queue: str

    @property
    def pid(self) -> int:
        """The worker's process id."""
        return self.process.pid

    @property
    def name(self) -> str:
        """Its RQ worker name (``beatmatch-HOST-PID``)."""
        return f"beatmatch-{socket.gethostname()}-{self.pid}"

    @property
    def log(self) -> str:
        """What it logged so far."""
        return self.log_path.read_text(errors="replace")

    def horses(self) -> list[int]:
        """Its work-horses alive now (the processes fitting a job)."""
        try:
            children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text()
        except OSError:
            return []
        return [int(pid) for pid in children.split()]


@dataclass
class Workers:
    """``beatmatch worker`` processes started by a test, stopped (SIGTERM, then SIGKILL) after."""

    url: str
    folder: Path
    env: dict[str, str] = field(default_factory=dict)
    started: list[WorkerProcess] = field(default_factory=list)

    def start(self, queue: str, count: int = 1, *extra: str) -> list[WorkerProcess]:
        """Start ``count`` workers on ``queue`` (the venv's python, ``-m bot worker``)."""
        new = []
        for _ in range(count):
            log_path = self.folder / f"worker-{queue}-{len(self.started)}.log"
            with log_path.open("wb") as log:
                command = [sys.executable, "-m", "bot", "worker", "--redis", self.url]
                process = subprocess.Popen(
                    [*command, "--queue", queue, *extra],
                    cwd=ROOT,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env={**os.environ, "BEATMATCH_LOGGING_LEVEL": "INFO", **self.env},
                )
            worker = WorkerProcess(process, log_path, queue)
            self.started.append(worker)
            new.append(worker)
        return new

    def stop_all(self) -> None:
        """SIGTERM every worker still running; SIGKILL one that does not end."""
        for worker in self.started:
            if worker.process.poll() is None:
                worker.process.send_signal(signal.SIGTERM)
        for worker in self.started:
            _stop(worker.process, term=False)


def _stop(process: subprocess.Popen[bytes], term: bool = True) -> None:
    if process.poll() is None and term:
        process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
