"""The real Telegram front — python-telegram-bot's Application — over the real core, pointed at the
fake Bot API through the config keys ``telegram.base_url`` / ``telegram.base_file_url`` (set from
the environment, as an operator would), with a small demo catalog and fast taste models."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from bot.chat.push import PushRouter
from bot.chat.telegram import TelegramFront
from bot.config import load_config
from bot.core.catalog import CatalogState
from bot.core.genre_models import GenreModels
from bot.core.service import BeatmatchService, ServiceSettings
from bot.core.taste_models import TasteModels
from bot.core.workout_manager import HeartStream, StreamRequest, WorkoutManager
from recommender.demo_catalog import demo_catalog
from recommender.ensemble import EnsembleSettings
from recommender.taste import TasteSettings
from storage.repository import Repository
from tests.conftest import (
    TINY_GENRES,
    catalog_exportify_rows,
    tiny_exportify_rows,
    write_exportify,
)
from tests.fakes.fake_telegram import Call, FakeTelegram, message

FAST = TasteSettings(ensemble=EnsembleSettings(rf_trees=30, xgb_rounds=30, n_jobs=1))
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
    """The fake Bot API, the core service and the running Telegram front."""

    fake: FakeTelegram
    service: BeatmatchService
    front: TelegramFront
    router: PushRouter
    heart: list[tuple[float, float]]

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
        tasks = [t for t in self.service._training.values() if not t.done()]
        await asyncio.gather(*tasks, return_exceptions=True)


def library_csv(service: BeatmatchService, path: Path, genre: str = "acoustic") -> bytes:
    """An Exportify export of 24 demo-catalog tracks of ``genre`` (with their own features) and
    12 tracks the catalog lacks; written to ``path``, returned as bytes."""
    tracks, genres = service.catalog.tracks, service.catalog.genres
    chosen = genres.loc[genres["genre"] == genre, "track_id"].astype(str).tolist()[:24]
    rows = catalog_exportify_rows(tracks, chosen)
    outside = tiny_exportify_rows(genre if genre in TINY_GENRES else "acoustic", 12)
    return write_exportify(path, rows + outside.to_numpy().tolist()).read_bytes()


def build_service(repo: Repository, data_dir: Path, genre_dir: Path) -> BeatmatchService:
    """The core over a small demo catalog, fast taste models and no cooldown."""
    tracks, genres = demo_catalog(size=DEMO_TRACKS)
    catalog = CatalogState(tracks=tracks, genres=genres, is_demo=True)
    return BeatmatchService(
        repo,
        catalog,
        data_dir,
        ServiceSettings(cooldown_seconds=0.0),
        taste=TasteModels(repo, catalog, data_dir / "models", FAST),
        genres=GenreModels(catalog, genre_dir, n_jobs=1),
    )


async def start_front(
    service: BeatmatchService, *, public_url: str = ""
) -> tuple[FakeTelegram, TelegramFront, PushRouter]:
    """Start the fake Bot API and a front over ``service`` (polling, or webhook with a URL)."""
    fake = FakeTelegram()
    await fake.start()
    config = load_config(
        env={
            "BEATMATCH_TELEGRAM_TOKEN": fake.token,
            "BEATMATCH_TELEGRAM_BASE_URL": fake.base_url,
            "BEATMATCH_TELEGRAM_BASE_FILE_URL": fake.base_file_url,
        }
    )
    router = PushRouter(service)
    front = TelegramFront(config.telegram, service, router, public_url=public_url)
    router.add(front)
    if service.workouts is not None:
        service.workouts.notifier = router
    await front.start()
    return fake, front, router


async def start_rig(
    repo: Repository, tmp_path: Path, genre_dir: Path, *, public_url: str = ""
) -> TelegramRig:
    """The fake Bot API and a front over a demo-catalog core with a scripted heart."""
    service = build_service(repo, tmp_path / "data", genre_dir)
    heart = heart_script((90.0, 40), (150.0, 80), (100.0, 80))

    async def streams(request: StreamRequest) -> HeartStream:
        return ScriptedHeart(heart)

    service.workouts = WorkoutManager(
        repo,
        service.catalog.tracks,
        service.pick_for_context,
        streams,
        tmp_path / "charts",
        store_every=0.0,
        flush_every=0.01,
    )
    fake, front, router = await start_front(service, public_url=public_url)
    return TelegramRig(fake, service, front, router, heart)


async def stop_rig(rig: TelegramRig) -> None:
    """Stop the front, the workouts and the fake, in that order."""
    await rig.front.stop()
    if rig.service.workouts is not None:
        await rig.service.workouts.shutdown()
    await rig.settle()
    await rig.fake.stop()
