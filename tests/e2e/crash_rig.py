"""A real ``beatmatch`` console process for crash tests: started over a temporary data directory,
driven line by line while it runs, watched as it prints, killed with SIGKILL, and its database and
processes looked at afterwards. Shared by the tests/e2e/test_crash_*.py files.

Everything is read from outside, as an operator would: what the process printed (stdout, and its
log on stderr), its SQLite file (through a connection of the test's own) and /proc. Waits are for
something to appear, with a generous deadline; the only sleeps in the tests pick the random moment
of a kill once the phase it should hit has been seen.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest

from storage.database import DATABASE_FILE
from tests.conftest import OFFLINE_RECCOBEATS, ROOT

#: Deadline of one wait (a start, a reply): generous, several engineers' tests share two cores.
WAIT_S = 90.0
#: How long processes a killed bot leaves may take to end (its workers look once a second).
ORPHAN_GRACE_S = 15.0
#: The demo catalog's genre classifier once trained in this test session (see demo_genre_model).
_TRAINED: list[Path] = []


class ConsoleDied(AssertionError):
    """The process ended while the test waited for something it should have printed."""


class Stream:
    """Everything a pipe of the process has carried so far, readable while it grows."""

    def __init__(self, pipe: IO[bytes], changed: threading.Condition) -> None:
        self.text = ""
        self.changed = changed
        self.thread = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self.thread.start()

    def _read(self, pipe: IO[bytes]) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        while chunk := os.read(pipe.fileno(), 65536):
            with self.changed:
                self.text += decoder.decode(chunk)
                self.changed.notify_all()
        with self.changed:
            self.text += decoder.decode(b"", final=True)
            self.changed.notify_all()


class Console:
    """``python -m bot run`` (the console: no chat token is set) over ``data_dir``."""

    def __init__(self, data_dir: Path, **env: str) -> None:
        self.data_dir = data_dir
        self.env = console_env(data_dir, **env)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert self.process.stdin and self.process.stdout and self.process.stderr
        self.changed = threading.Condition()
        self.out = Stream(self.process.stdout, self.changed)
        self.err = Stream(self.process.stderr, self.changed)

    @property
    def pid(self) -> int:
        """The bot's process id."""
        return self.process.pid

    @property
    def db(self) -> Path:
        """Its database file."""
        return self.data_dir / DATABASE_FILE

    def send(self, line: str) -> int:
        """Type ``line``; returns where the output stood (search what follows from there)."""
        mark = len(self.out.text)
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write((line + "\n").encode("utf-8"))
        stdin.flush()
        return mark

    def wait_for(
        self, pattern: str, start: int = 0, *, stream: str = "out", timeout: float = WAIT_S
    ) -> re.Match[str]:
        """The first match of ``pattern`` (multiline) in the output from ``start`` on, waited for."""
        regex = re.compile(pattern, re.MULTILINE)
        source = self.out if stream == "out" else self.err
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                found = regex.search(source.text, start)
                if found is not None:
                    return found
                if self.process.poll() is not None and not (
                    self.out.thread.is_alive() or self.err.thread.is_alive()
                ):
                    raise ConsoleDied(f"the bot ended before {pattern!r}:\n{self.tail()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{pattern!r} did not appear in {timeout:.0f} s:\n{self.tail()}"
                    )
                self.changed.wait(min(left, 0.5))

    def ask(self, command: str, pattern: str, *, timeout: float = WAIT_S) -> re.Match[str]:
        """Type ``command`` and wait for ``pattern`` in what is printed after its echo (the next
        line shown as "> …": the console may shorten it or hide parts that look like secrets)."""
        mark = self.send(command)
        echo = self.wait_for(r"^> .*$", mark, timeout=timeout)
        return self.wait_for(pattern, echo.end(), timeout=timeout)

    def started(self) -> None:
        """Wait for the greeting: the bot is built and any interrupted workout resumed."""
        self.wait_for(r"^beatmatch console — type /help")

    def children(self) -> list[int]:
        """The bot's descendant processes now (training workers and their helpers)."""
        return descendants(self.pid)

    def kill(self) -> None:
        """SIGKILL the bot (not its children: what a crash leaves behind is part of the test)."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=WAIT_S)
        self.out.thread.join(timeout=WAIT_S)
        self.err.thread.join(timeout=WAIT_S)

    def quit(self) -> int:
        """Type /quit and wait for the process to end; its exit status."""
        self.send("/quit")
        self.process.wait(timeout=WAIT_S)
        self.out.thread.join(timeout=WAIT_S)
        self.err.thread.join(timeout=WAIT_S)
        return self.process.returncode

    def close(self) -> None:
        """Kill the bot and whatever of its own it left, if a test ended early."""
        left = self.children()
        if self.process.poll() is None:
            self.kill()
        for pid in left:
            with contextlib.suppress(OSError):  # gone already
                os.kill(pid, signal.SIGKILL)
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()

    def tail(self, size: int = 3000) -> str:
        """The end of stdout and stderr, for failure messages."""
        return f"--- stdout ---\n{self.out.text[-size:]}\n--- stderr ---\n{self.err.text[-size:]}"


def console_env(data_dir: Path, **env: str) -> dict[str, str]:
    """The environment of a console over ``data_dir``: no BEATMATCH_* of the caller's, ReccoBeats
    on a closed loopback port, a UTF-8 terminal, the log on stderr (where the tests watch it grow;
    by default the console writes it to a file); ``env`` adds or overrides settings."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BEATMATCH_")}
    environment.update(
        {
            "BEATMATCH_STORAGE_DATA_DIR": str(data_dir),
            "BEATMATCH_CONSOLE_LOG_FILE": "stderr",
            "BEATMATCH_RECCOBEATS_API_BASE": OFFLINE_RECCOBEATS,
            "PYTHONIOENCODING": "utf-8",
            **env,
        }
    )
    return environment


@pytest.fixture(scope="session", name="demo_genre_model")
def demo_genre_model_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo catalog's genre classifier, trained once a session by ``beatmatch train-genre``.

    A bot over a fresh data directory trains it in its worker first (~10 s of a core): a test
    that hands it to ``console`` starts without that (the listener's models get the worker at
    once, and a workout's stream has the CPU to itself). Each test module that imports the
    fixture holds a definition of its own: the file trained first serves them all."""
    if _TRAINED:
        return _TRAINED[0]
    data_dir = tmp_path_factory.mktemp("genre") / "data"
    subprocess.run(
        [sys.executable, "-m", "bot", "train-genre"],
        cwd=ROOT,
        env=console_env(data_dir),
        check=True,
        capture_output=True,
        timeout=600,
    )
    (model,) = (data_dir / "models").glob("genre-*.model")
    _TRAINED.append(model)
    return model


@contextmanager
def console(data_dir: Path, genre_model: Path | None = None, **env: str) -> Iterator[Console]:
    """A started console, killed (with anything it left) when the block ends; ``genre_model``
    (``demo_genre_model``) is put in its data directory first, as an earlier run would have."""
    if genre_model is not None and not (data_dir / "models" / genre_model.name).exists():
        (data_dir / "models").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(genre_model, data_dir / "models" / genre_model.name)
    bot = Console(data_dir, **env)
    try:
        bot.started()
        yield bot
    finally:
        bot.close()


def integrity(db: Path) -> str:
    """``PRAGMA integrity_check`` of the database file ("ok" when sound)."""
    with closing_db(db) as conn:
        return "\n".join(str(row[0]) for row in conn.execute("PRAGMA integrity_check"))


@contextmanager
def closing_db(db: Path) -> Iterator[sqlite3.Connection]:
    """A connection of the test's own to the bot's database (reads see every commit)."""
    conn = sqlite3.connect(db, timeout=30.0, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout = 30000")
        yield conn
    finally:
        conn.close()


def descendants(pid: int) -> list[int]:
    """Every living process below ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            state = _stat(int(entry.name))
            if state is not None and state[0] not in "ZX":
                parents[int(entry.name)] = state[1]
    found: list[int] = []
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, ppid in parents.items() if ppid == parent]
        found.extend(children)
        frontier.extend(children)
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` is a running process (a zombie has ended: it only waits to be reaped)."""
    state = _stat(pid)
    return state is not None and state[0] not in "ZX"


def processes_of(data_dir: Path) -> list[int]:
    """Living processes whose environment names ``data_dir`` (a bot over it and its workers)."""
    marker = f"BEATMATCH_STORAGE_DATA_DIR={data_dir}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker in environ.split(b"\0") and alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def wait_until(condition: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not so after {timeout:.0f} s")
        time.sleep(0.05)


def _stat(pid: int) -> tuple[str, int] | None:
    """(state letter, parent pid) of a process, None when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[0], int(fields[1])
