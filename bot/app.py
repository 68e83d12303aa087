"""The composition root: configuration in, a running beatmatch out. Only here are concrete classes
chosen and wired together."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from bot.chat.console import ConsoleChat
from bot.config import Config
from bot.core.catalog import CatalogState, demo_state
from bot.core.oauth import StateKeeper
from bot.core.replies import ChatUser
from bot.core.service import BeatmatchService, ServiceSettings
from bot.core.taste_models import TasteModels
from bot.core.workout_manager import HeartStream, WorkoutManager
from bot.progress import ProgressBar
from bot.sources.simulated_heart import SimulatedHeart
from recommender.heart import HeartProfile
from recommender.taste import TasteSettings
from storage.catalog_import import import_catalog
from storage.crypto import TokenCipher, load_or_create_key
from storage.database import DATABASE_FILE
from storage.repository import Repository
from storage.token_vault import TokenVault

log = logging.getLogger(__name__)


@dataclass
class Beatmatch:
    """Everything a running process holds."""

    config: Config
    repo: Repository
    catalog: CatalogState
    service: BeatmatchService
    workouts: WorkoutManager
    vault: TokenVault
    states: StateKeeper

    def close(self) -> None:
        """Release the database."""
        self.repo.close()


def open_repository(config: Config) -> Repository:
    """The database in the configured data directory."""
    return Repository.open(config.data_dir / DATABASE_FILE)


def load_catalog(config: Config, repo: Repository, show_progress: bool = True) -> CatalogState:
    """The imported catalog (importing ``catalog.path`` first if it changed), else the demo."""
    if config.catalog.path:
        progress = ProgressBar("importing catalog") if show_progress else None
        import_catalog(repo, config.catalog.path, config.data_dir, progress, force=False)
    if repo.catalog_size() > 0:
        started = time.perf_counter()
        tracks, genres = repo.load_catalog()
        log.info("catalog loaded: %d tracks in %.1f s", len(tracks), time.perf_counter() - started)
        return CatalogState(
            tracks=tracks,
            genres=genres,
            is_demo=False,
            fingerprint=(repo.get_meta("catalog_updated_at") or "")[:16],
        )
    log.info("no catalog imported: using the synthetic demo catalog")
    return demo_state(config.catalog.demo_size)


class SimulatedStream:
    """The simulator as a HeartStream, at the configured speed."""

    def __init__(self, heart: SimulatedHeart, speed: float) -> None:
        self.heart = heart
        self.speed = speed

    def samples(self):
        """Simulated samples, ``speed`` times faster than real time."""
        return self.heart.samples(interval=1.0, speed=self.speed)

    def on_track(self, features: object) -> None:
        """The simulated heart reacts to the suggested track."""
        self.heart.set_track(features)


def build(
    config: Config, *, show_progress: bool = True, cooldown: float | None = None, seed: int = 0
) -> Beatmatch:
    """Wire storage, catalog, service and workout manager from ``config``."""
    repo = open_repository(config)
    catalog = load_catalog(config, repo, show_progress)
    settings = ServiceSettings(
        default_count=config.recommend.default_count,
        max_count=config.recommend.max_count,
        cooldown_seconds=config.recommend.cooldown_seconds if cooldown is None else cooldown,
    )
    taste = TasteModels(
        repo,
        catalog,
        config.data_dir / "models",
        TasteSettings(negatives_per_positive=config.recommend.negatives_per_positive),
    )
    service = BeatmatchService(repo, catalog, config.data_dir, settings, taste=taste)
    speed = config.console.simulator_speed

    def streams(user_id: int, profile: HeartProfile) -> HeartStream:
        return SimulatedStream(SimulatedHeart(profile, seed=seed + user_id), speed)

    workouts = WorkoutManager(
        repo, catalog.tracks, service.pick_for_context, streams, config.data_dir / "charts"
    )
    service.workouts = workouts
    key = load_or_create_key(config.storage.encryption_key, config.data_dir)
    vault = TokenVault(repo, TokenCipher(key))
    states = StateKeeper(repo, key)
    return Beatmatch(config, repo, catalog, service, workouts, vault, states)


async def run_console(config: Config) -> None:
    """The console chat on this machine's terminal."""
    app = await asyncio.to_thread(build, config, cooldown=0.0)
    try:
        await ConsoleChat(app.service, ChatUser("console", config.console.user, "you")).run()
    finally:
        await app.workouts.shutdown()
        app.close()


async def run(config: Config) -> None:
    """``beatmatch run``: the chat fronts whose tokens are configured, else the console."""
    if config.telegram.token or config.discord.token:
        raise SystemExit(
            "Telegram and Discord fronts are not part of this build yet; unset "
            "telegram.token / discord.token to use the console."
        )
    await run_console(config)
