"""``beatmatch serve`` (and ``beatmatch run`` with chat fronts): everything in one asyncio loop,
stopped cleanly on a signal.

Started in this order — the aiohttp web server (OAuth callbacks, /healthz and, with a public URL,
Telegram's webhook route), then Telegram (``initialize``/``start`` + polling or ``setWebhook``)
and Discord (``start`` in a task) for whichever token is configured (with neither, a WARNING,
``NO_FRONT``, and the web app alone), then the workout manager (resuming workouts a restart
interrupted) and the weekly digest. SIGINT or SIGTERM stops them in the reverse order: no new
updates are read, running handlers finish, open workouts are left to resume, HTTP sessions and
the database are closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import web

from bot.app import Beatmatch
from bot.chat.push import PushRouter
from bot.core.insight.digest import DigestScheduler
from bot.core.replies import Reply
from bot.web import PathOnlyAccessLogger, bound_port, create_app

if TYPE_CHECKING:
    # Each front's chat library (discord.py ~10 MB, python-telegram-bot ~15 MB resident) is
    # imported in ``Runner.__init__`` only when its token is configured.
    from bot.chat.discord import DiscordFront
    from bot.chat.telegram import TelegramFront

log = logging.getLogger(__name__)
SIGNALS = (signal.SIGINT, signal.SIGTERM)
NO_FRONT = (
    "no chat front configured: set telegram.token or discord.token (BEATMATCH_TELEGRAM_TOKEN / "
    "BEATMATCH_DISCORD_TOKEN); serving the web app only"
)


class RunFailed(RuntimeError):
    """A part of the bot could not start (port taken, bad token) or a front stopped on its own."""


class Front(Protocol):
    """What the runner needs of a chat front."""

    platform: str

    async def start(self) -> None:
        """Begin serving."""
        ...

    async def stop(self) -> None:
        """Stop serving and release connections."""
        ...

    async def push(self, user_id: str, reply: Reply) -> None:
        """Message one of the front's users on the bot's own initiative."""
        ...


class Runner:
    """The running bot: web server, chat fronts, workouts and digests over one core."""

    def __init__(self, app: Beatmatch, *, digest_tick: float = 60.0) -> None:
        self.app = app
        config = app.config
        self.router = PushRouter(app.service.users)
        self.telegram: TelegramFront | None = None
        self.discord: DiscordFront | None = None
        if config.telegram.token:
            from bot.chat.telegram import TelegramFront

            self.telegram = TelegramFront(
                config.telegram, app.service, self.router, public_url=config.web.public_url
            )
        if config.discord.token:
            from bot.chat.discord import DiscordFront

            self.discord = DiscordFront(config.discord, app.service, self.router)
        self.fronts: list[Front] = [f for f in (self.telegram, self.discord) if f is not None]
        self.digest = DigestScheduler(
            app.digest, app.outbox, tick=digest_tick, meter=app.service.meter
        )
        self.web_runner: web.AppRunner | None = None
        self._started: list[Front] = []
        self._digest_task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self.ready = asyncio.Event()  # set once everything has started

    @property
    def web_port(self) -> int:
        """The port the web server listens on (useful when configured as 0)."""
        if self.web_runner is None:
            raise RuntimeError("the web server is not running")
        return bound_port(self.web_runner)

    def request_stop(self, reason: str = "") -> None:
        """Ask ``serve`` to shut everything down (signal handlers call this)."""
        if reason:
            log.info("stopping: %s", reason)
        self._stop.set()

    async def start(self) -> None:
        """Start the web server, the fronts, workout resumption and the digest."""
        web_app = create_app(self.app.service, **self.app.web_options())
        if self.telegram is not None and self.telegram.public_url:
            from bot.chat.telegram import WEBHOOK_PATH

            web_app.router.add_post(WEBHOOK_PATH, self.telegram.webhook)
        self.web_runner = web.AppRunner(web_app, access_log_class=PathOnlyAccessLogger)
        await self.web_runner.setup()
        config = self.app.config.web
        try:
            await web.TCPSite(self.web_runner, config.host, config.port).start()
        except OSError as error:
            raise RunFailed(
                f"the web server could not listen on {config.host}:{config.port}: {error.strerror}"
            ) from error
        log.info("web server listening on %s:%s", config.host, self.web_port)
        if not self.fronts:
            log.warning(NO_FRONT)
        for front in self.fronts:
            try:
                await front.start()
            except Exception as error:
                with contextlib.suppress(Exception):
                    await front.stop()  # release whatever it had opened
                raise RunFailed(f"the {front.platform} front could not start: {error}") from error
            self._started.append(front)
            self.router.add(front)
        self.app.outbox.connect(self.router)
        self.app.start()
        resumed = await self.app.workouts.resume_all()
        if resumed:
            log.info("%d workouts carry on after the restart", resumed)
        self._digest_task = asyncio.get_running_loop().create_task(self.digest.run())
        log.info("beatmatch is up: %s", ", ".join(f.platform for f in self.fronts) or "web only")
        self.ready.set()

    async def stop(self) -> None:
        """Stop everything that started, newest first; the database is closed last. Model work
        stops first: a command waiting for a model is told at once that the bot is restarting, so
        the fronts' running handlers end and nobody waits for a fit."""
        await self.app.work.stop()
        for front in reversed(self._started):
            try:
                await front.stop()
            except Exception:
                log.exception("the %s front did not stop cleanly", front.platform)
        self._started.clear()
        if self._digest_task is not None:
            self._digest_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._digest_task
        if self.web_runner is not None:
            await self.web_runner.cleanup()
            self.web_runner = None
        await self.app.shutdown()
        log.info("beatmatch stopped cleanly")

    async def serve(self) -> None:
        """Run until SIGINT/SIGTERM (or ``request_stop``); RunFailed if a front gives out."""
        loop = asyncio.get_running_loop()
        for sig in SIGNALS:
            loop.add_signal_handler(sig, self.request_stop, sig.name)
        failure: BaseException | None = None
        try:
            await self.start()
            failure = await self._wait()
        except RunFailed as error:
            failure = error
        finally:
            for sig in SIGNALS:
                loop.remove_signal_handler(sig)
            await self.stop()
        if failure is not None:
            raise failure if isinstance(failure, RunFailed) else RunFailed(str(failure))

    async def _wait(self) -> BaseException | None:
        """Wait for a stop request, or for the Discord connection to end on its own."""
        waiters: set[asyncio.Future[Any]] = {asyncio.ensure_future(self._stop.wait())}
        if self.discord is not None and self.discord.task is not None:
            waiters.add(self.discord.task)
        done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters - done:
            if self.discord is None or waiter is not self.discord.task:
                waiter.cancel()
        task = self.discord.task if self.discord is not None else None
        if task is not None and task in done:
            error = task.exception() if not task.cancelled() else None
            return RunFailed(f"Discord stopped: {error or 'the connection closed'}")
        return None
