"""The world the dispatcher fuzz runs in: the real app and real files, and a judge of each answer.

``FuzzWorld.open`` builds the core as ``bot.app.assemble`` wires it over a temporary directory
(the 600-track demo catalog, small taste models trained in a thread, no cooldowns), with the fake
Spotify and the fake Pulsoid on loopback (nothing reaches the internet), a console listener whose
Exportify library is imported, and files of every kind for ``/import`` to meet: a named pipe, links
that loop or dangle, a sparse file bigger than any export, random bytes. ``send`` types a line as a
chat user (``handle_text``, as the console and Telegram do); ``send_typed`` passes typed options
(``run_typed``, as Discord does). Each answer is judged the way a user would notice it: it must
come within the timeout, must not be the "something went wrong on my side" apology, must not log
an error, and must be sendable (UTF-8). Shared by the fuzz test and ``bench/fuzz.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import shutil
import sys
import threading
import time
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from bot.app import Beatmatch
from bot.core.catalog import demo_state
from bot.core.dispatch import guarded, handle_text, run_typed
from bot.core.replies import ChatUser, Reply
from bot.core.service import BeatmatchService
from storage.exportify import MAX_BYTES
from tests.conftest import catalog_exportify_rows, write_exportify
from tests.fakes.fake_pulsoid import FakePulsoid
from tests.fakes.fake_spotify import FakeSpotify
from tests.rig import ThreadRunner, make_app, rig_config, settle

#: How every internal-error reply begins (``bot.core.dispatch.apology``).
APOLOGY = "Sorry — something went wrong on my side"
CONSOLE = ChatUser("console", "local", "you")
USERS: tuple[ChatUser, ...] = (
    CONSOLE,
    ChatUser("telegram", "1001", "Ann"),
    ChatUser("discord", "2002", "Bob"),
    ChatUser("telegram", "3003", "\u202eevil\x00 👩\u200d👩\u200d👧 <@everyone>"),
)
#: Answers slower than this are hangs.
DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True)
class Outcome:
    """One input and how the bot answered it."""

    sent: str  # as drawn (placeholders kept): what to paste into an ``@example``
    user: ChatUser
    reply: Reply | None
    seconds: float
    problem: str = ""  # "", "internal error", "hang" or "unsendable reply"
    detail: str = ""  # the errors logged meanwhile, or what is wrong with the reply
    error_type: str = ""  # the type of the first exception logged, if any
    typed: bool = False  # came with typed options (``send_typed``), not as a typed line

    @property
    def signature(self) -> str:
        """What tells one defect from another: the problem and the exception behind it."""
        return f"{self.problem} {self.error_type}".strip()

    @property
    def ok(self) -> bool:
        """The user got an answer a user should get."""
        return not self.problem


class ErrorRecords(logging.Handler):
    """Every ERROR (or worse) logged anywhere while an input is being answered."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def first_type(self) -> str:
        """The type name of the first exception logged ("" if none carried one)."""
        for record in self.records:
            if record.exc_info and record.exc_info[0] is not None:
                return record.exc_info[0].__name__
        return ""

    def text(self) -> str:
        """The records, tracebacks included."""
        formatter = logging.Formatter("%(name)s: %(message)s")
        return "\n".join(formatter.format(record) for record in self.records)


class Watchdog:
    """Ends the process when one input keeps the event loop itself blocked (``wait_for`` can't
    fire then); says which input it was. A thread, started by ``FuzzWorld.open``."""

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.current: tuple[str, float] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="fuzz-watchdog", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(1.0):
            current = self.current
            if current is not None and time.monotonic() - current[1] > self.limit:
                sys.stderr.write(
                    f"\nfuzz: the event loop has been blocked for over {self.limit:.0f} s by "
                    f"the input {current[0]!r}\n"
                )
                sys.stderr.flush()
                os._exit(3)

    def stop(self) -> None:
        """Stop watching."""
        self._stop.set()
        self._thread.join()


def write_files(root: Path, app: Beatmatch) -> dict[str, str]:
    """The files ``/import`` meets, by placeholder (``tests.fuzz_inputs.PATH_PLACEHOLDERS``)."""
    root.mkdir(parents=True, exist_ok=True)
    tracks = app.catalog.tracks
    good = write_exportify(
        root / "liked.csv", catalog_exportify_rows(tracks, list(tracks.index[:30]))
    )
    (root / "spaced dir").mkdir()
    shutil.copy(good, root / "spaced dir" / "liked songs.csv")
    bad = root / "other.csv"
    bad.write_text("name,when\nsomething,yesterday\n", encoding="utf-8")
    empty = root / "empty.csv"
    empty.touch()
    binary = root / "random.csv"
    binary.write_bytes(random.Random(7).randbytes(4096) + b"\x00" * 64)
    directory = root / "a folder.csv"
    directory.mkdir()
    fifo = root / "pipe.csv"
    os.mkfifo(fifo)
    (root / "to-pipe.csv").symlink_to(fifo)
    (root / "loop.csv").symlink_to(root / "loop.csv")
    (root / "dangling.csv").symlink_to(root / "gone.csv")
    sparse = root / "huge.csv"
    with sparse.open("wb") as handle:
        handle.truncate(MAX_BYTES + 1)
    first = tracks.iloc[0]
    return {
        "{good_csv}": str(good),
        "{bad_csv}": str(bad),
        "{empty_file}": str(empty),
        "{binary_file}": str(binary),
        "{directory}": str(directory),
        "{fifo}": str(fifo),
        "{fifo_link}": str(root / "to-pipe.csv"),
        "{loop_link}": str(root / "loop.csv"),
        "{dangling_link}": str(root / "dangling.csv"),
        "{sparse_file}": str(sparse),
        "{spaced dir}": str(root / "spaced dir"),
        "{catalog_id}": str(tracks.index[0]),
        "{catalog_title}": f"{first['name']} - {str(first['artists']).split(';')[0]}",
        "{catalog_artist}": str(first["artists"]).split(";")[0],
    }


@dataclass
class FuzzWorld:
    """The app under fuzz, its fakes and files, and the judge of every answer."""

    app: Beatmatch
    spotify: FakeSpotify
    pulsoid: FakePulsoid
    values: Mapping[str, str]
    timeout: float = DEFAULT_TIMEOUT
    errors: ErrorRecords = field(default_factory=ErrorRecords)
    watchdog: Watchdog | None = None

    @classmethod
    async def open(cls, root: Path, timeout: float = DEFAULT_TIMEOUT) -> FuzzWorld:
        """Start the fakes, build the app over ``root``, write the files, import a library."""
        spotify, pulsoid = FakeSpotify(), FakePulsoid()
        await spotify.start()
        base = await pulsoid.start()
        config = rig_config(
            root,
            BEATMATCH_SPOTIFY_CLIENT_ID=spotify.client_id,
            BEATMATCH_SPOTIFY_CLIENT_SECRET=spotify.client_secret,
            BEATMATCH_SPOTIFY_API_BASE=spotify.api_base,
            BEATMATCH_SPOTIFY_ACCOUNTS_BASE=spotify.accounts_base,
            BEATMATCH_PULSOID_CLIENT_ID=pulsoid.client_id,
            BEATMATCH_PULSOID_CLIENT_SECRET=pulsoid.client_secret,
            BEATMATCH_PULSOID_API_BASE=base,
            BEATMATCH_PULSOID_OAUTH_BASE=base,
            BEATMATCH_WEB_PUBLIC_URL="https://beatmatch.invalid",
        )
        catalog = demo_state(600)
        app = make_app(root, catalog, config=config, runner=ThreadRunner(catalog), cooldown=0.0)
        world = cls(app, spotify, pulsoid, write_files(root / "files", app), timeout)
        logging.getLogger().addHandler(world.errors)
        world.watchdog = Watchdog(3 * timeout + 30)
        app.start()
        try:
            for user in USERS:
                await world.give_library(user)
            await settle(app)
        except BaseException:
            await world.close()
            raise
        return world

    async def give_library(self, user: ChatUser) -> None:
        """Upload the good export as ``user``: every listener has a taste to fuzz against."""
        data = Path(self.values["{good_csv}"]).read_bytes()
        await self.service.taste.import_library(user, data=data, filename="liked.csv")

    @property
    def service(self) -> BeatmatchService:
        """The core's front, as the chat fronts get it."""
        return self.app.service

    def fill(self, text: str) -> str:
        """``text`` with its placeholders replaced by this world's paths and tracks."""
        for placeholder, value in self.values.items():
            text = text.replace(placeholder, value)
        return text

    async def send(self, user: ChatUser, text: str) -> Outcome:
        """Type ``text`` as ``user`` (the console's and Telegram's way in) and judge the answer."""
        call = handle_text(self.service, user, self.fill(text))
        return await self._after(await self._judge(text, user, call))

    async def send_typed(self, user: ChatUser, name: str, options: Mapping[str, object]) -> Outcome:
        """Run ``/name`` with already typed ``options`` (Discord's way in) and judge the answer."""
        filled = {k: self.fill(v) if isinstance(v, str) else v for k, v in options.items()}
        shown = f"/{name} " + " ".join(f"{k}={v!r}" for k, v in options.items())
        call = guarded(user, run_typed(self.service, user, name, filled))
        return await self._after(replace(await self._judge(shown.strip(), user, call), typed=True))

    async def _after(self, outcome: Outcome) -> Outcome:
        """A listener who was just forgotten uploads their library again, so the next inputs
        meet a taste (recommendations, likes, stats) rather than "import first"."""
        if outcome.reply is not None and outcome.reply.title == "Forgotten":
            await self.give_library(outcome.user)
        return outcome

    async def _judge(self, sent: str, user: ChatUser, call: Awaitable[Reply]) -> Outcome:
        self.errors.records.clear()
        started = time.monotonic()
        if self.watchdog is not None:
            self.watchdog.current = (sent, started)
        try:
            reply: Reply | None = await asyncio.wait_for(call, self.timeout)
        except TimeoutError:
            reply = None
        finally:
            if self.watchdog is not None:
                self.watchdog.current = None
        seconds = time.monotonic() - started
        await asyncio.sleep(0)  # errors logged by work the command started, as it ends
        logged, kind = self.errors.text(), self.errors.first_type()
        if reply is None:
            return Outcome(sent, user, None, seconds, "hang", logged, kind)
        if reply.text.startswith(APOLOGY) or logged:
            return Outcome(sent, user, reply, seconds, "internal error", logged or reply.text, kind)
        shown = reply.plain_text()
        try:
            shown.encode("utf-8")
        except UnicodeEncodeError as error:
            return Outcome(sent, user, reply, seconds, "unsendable reply", f"{error}: {shown!r}")
        if not shown.strip():
            return Outcome(sent, user, reply, seconds, "unsendable reply", "an empty reply")
        return Outcome(sent, user, reply, seconds)

    def release_pipes(self) -> None:
        """Open the named pipe for writing once, so that a read left waiting on it ends."""
        fifo = self.values["{fifo}"]
        with contextlib.suppress(OSError):
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))

    async def close(self) -> None:
        """Stop everything this world started."""
        self.release_pipes()
        if self.watchdog is not None:
            self.watchdog.stop()
        logging.getLogger().removeHandler(self.errors)
        with contextlib.suppress(Exception):
            await settle(self.app)
        await self.app.shutdown()
        await self.spotify.stop()
        await self.pulsoid.close()
