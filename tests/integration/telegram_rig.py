"""The real Telegram front — python-telegram-bot's Application — over the real core, pointed at the
fake Bot API through the config keys ``telegram.base_url`` / ``telegram.base_file_url`` (set from
the environment, as an operator would), with a small demo catalog and fast taste models.

``make_core`` is also the core the Discord and digest tests drive: ``bot.app.assemble`` over a
600-track demo catalog, no cooldown, and a chat front's heart (no simulator: unlinked users are
asked to link Pulsoid) unless a test scripts one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from bot.app import Beatmatch
from bot.chat.push import PushRouter
from bot.chat.telegram import TelegramFront
from bot.config import Config, load_config
from bot.core.catalog import demo_state
from bot.core.service import BeatmatchService
from bot.core.workout.live import HeartStream, StreamRequest
from storage.database import Storage
from tests.conftest import (
    TINY_GENRES,
    catalog_exportify_rows,
    tiny_exportify_rows,
    write_exportify,
)
from tests.fakes.fake_telegram import Call, FakeTelegram, message
from tests.rig import make_app, settle

DEMO_TRACKS = 600


class ScriptedHeart:
    """A heart stream that plays (t, bpm) readings as fast as the loop allows, then waits."""

    source = "script"

    def __init__(self, readings: list[tuple[float, float]]) -> None:
        self.readings = readings

    async def samples(self) -> AsyncGenerator[tuple[float, float], None]:
        """The readings, then silence (a monitor still strapped on)."""
        for reading in self.readings:
            await asyncio.sleep(0)
            yield reading
        await asyncio.Event().wait()

    def on_track(self, features: Mapping[str, Any] | pd.Series | None) -> None:
        """A real heart ignores what is suggested."""


def heart_script(*parts: tuple[float, int]) -> list[tuple[float, float]]:
    """1 Hz readings: each part is (bpm, seconds), one after the other."""
    readings, t = [], 0.0
    for bpm, seconds in parts:
        for _ in range(seconds):
            readings.append((t, bpm))
            t += 1.0
    return readings


@dataclass
class TelegramRig:
    """The fake Bot API, the assembled core and the running Telegram front."""

    fake: FakeTelegram
    app: Beatmatch
    front: TelegramFront
    router: PushRouter
    heart: list[tuple[float, float]]

    @property
    def service(self) -> BeatmatchService:
        """The core's front object the Telegram front serves."""
        return self.app.service

    async def say(self, text: str, **where: Any) -> int:
        """Send a text message as a user; returns the call index to wait from."""
        mark = len(self.fake.calls)
        await self.fake.send_update(message(text, **where))
        return mark

    async def reply_to(self, text: str, contains: str = "", **where: Any) -> Call:
        """Send ``text`` and wait for the bot's message that contains ``contains``."""
        mark = await self.say(text, **where)
        return await self.fake.wait_for("sendMessage", lambda c: contains in c.text, after=mark)

    async def settle(self) -> None:
        """Let background taste training finish (no thread outlives the test's loop)."""
        await settle(self.app)


def library_csv(service: BeatmatchService, path: Path, genre: str = "acoustic") -> bytes:
    """An Exportify export of 24 demo-catalog tracks of ``genre`` (with their own features) and
    12 tracks the catalog lacks; written to ``path``, returned as bytes."""
    tracks, genres = service.catalog.tracks, service.catalog.genres
    chosen = genres.loc[genres["genre"] == genre, "track_id"].astype(str).tolist()[:24]
    rows = catalog_exportify_rows(tracks, chosen)
    outside = tiny_exportify_rows(genre if genre in TINY_GENRES else "acoustic", 12)
    return write_exportify(path, rows + outside.to_numpy().tolist()).read_bytes()


def make_core(
    tmp_path: Path,
    genre_dir: Path,
    *,
    heart: list[tuple[float, float]] | None = None,
    storage: Storage | None = None,
    config: Config | None = None,
) -> Beatmatch:
    """The core over a small demo catalog, fast taste models, ``genre_dir``'s genre model and no
    cooldown; workouts read ``heart`` when given, else Pulsoid (no simulated heart, as on a chat
    front). Tear down with ``await settle(app); await app.shutdown()``."""
    parts: dict[str, Any] = {}
    if heart is not None:

        async def streams(request: StreamRequest) -> HeartStream:
            return ScriptedHeart(heart)

        parts["heart_streams"] = streams
    return make_app(
        tmp_path,
        demo_state(DEMO_TRACKS),
        storage=storage,
        config=config,
        genre_dir=genre_dir,
        simulated_heart=False,
        **parts,
    )


async def start_front(
    app: Beatmatch, *, public_url: str = ""
) -> tuple[FakeTelegram, TelegramFront, PushRouter]:
    """Start the fake Bot API and a front over ``app`` (polling, or webhook with a URL); the
    core's outbox delivers through the front's router."""
    fake = FakeTelegram()
    await fake.start()
    config = load_config(
        env={
            "BEATMATCH_TELEGRAM_TOKEN": fake.token,
            "BEATMATCH_TELEGRAM_BASE_URL": fake.base_url,
            "BEATMATCH_TELEGRAM_BASE_FILE_URL": fake.base_file_url,
        }
    )
    router = PushRouter(app.service.users)
    front = TelegramFront(config.telegram, app.service, router, public_url=public_url)
    router.add(front)
    app.outbox.connect(router)
    await front.start()
    return fake, front, router


async def start_rig(tmp_path: Path, genre_dir: Path, *, public_url: str = "") -> TelegramRig:
    """The fake Bot API and a front over a demo-catalog core with a scripted heart."""
    heart = heart_script((90.0, 40), (150.0, 80), (100.0, 80))
    app = make_core(tmp_path, genre_dir, heart=heart)
    fake, front, router = await start_front(app, public_url=public_url)
    return TelegramRig(fake, app, front, router, heart)


async def stop_rig(rig: TelegramRig) -> None:
    """Stop the front, the core (workouts, training, storage) and the fake, in that order."""
    await rig.front.stop()
    await rig.settle()
    await rig.app.shutdown()
    await rig.fake.stop()
