"""The composition root: configuration in, a running beatmatch out. Only here are concrete classes
chosen and wired together."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import logging
import time
from dataclasses import dataclass

from bot.chat.console import ConsoleChat
from bot.config import Config
from bot.core.catalog import CatalogState, demo_state
from bot.core.feature_chain import FeatureChain
from bot.core.heart_response import HeartResponses
from bot.core.oauth import StateKeeper
from bot.core.ports import FeatureSource
from bot.core.pulsoid_accounts import PulsoidAccounts
from bot.core.replies import ChatUser
from bot.core.service import BeatmatchService, ServiceSettings
from bot.core.spotify_linking import SpotifyLinking
from bot.core.taste_models import TasteModels
from bot.core.taste_sync import TasteSync
from bot.core.workout_manager import WorkoutManager
from bot.progress import ProgressBar
from bot.sources.backoff import RetryPolicy
from bot.sources.heart_streams import HeartStreams
from bot.sources.pulsoid import PulsoidClient
from bot.sources.reccobeats import ReccoBeats
from bot.sources.spotify import SpotifyGateway
from bot.web import start_web
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
    pulsoid: PulsoidAccounts
    pulsoid_client: PulsoidClient

    def close(self) -> None:
        """Release the database."""
        self.repo.close()

    async def shutdown(self) -> None:
        """Stop background work and workouts (left open, to resume), device-flow polls and HTTP
        sessions; close."""
        await self.service.stop_background()
        await self.workouts.shutdown()
        await self.pulsoid.close()
        await self.pulsoid_client.close()
        self.close()


def open_repository(config: Config) -> Repository:
    """The database in the configured data directory."""
    return Repository.open(config.data_dir / DATABASE_FILE)


def release_freed_memory() -> None:
    """Hand memory freed by big loads back to the OS (glibc keeps it otherwise); no-op elsewhere."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def load_catalog(config: Config, repo: Repository, show_progress: bool = True) -> CatalogState:
    """The imported catalog (importing ``catalog.path`` first if it changed), else the demo."""
    if config.catalog.path:
        progress = ProgressBar("importing catalog") if show_progress else None
        import_catalog(repo, config.catalog.path, config.data_dir, progress, force=False)
    if repo.catalog_size() > 0:
        started = time.perf_counter()
        tracks, genres = repo.load_catalog()
        release_freed_memory()
        log.info("catalog loaded: %d tracks in %.1f s", len(tracks), time.perf_counter() - started)
        return CatalogState(
            tracks=tracks,
            genres=genres,
            is_demo=False,
            fingerprint=(repo.get_meta("catalog_updated_at") or "")[:16],
        )
    log.info("no catalog imported: using the synthetic demo catalog")
    return demo_state(config.catalog.demo_size)


def feature_chain(config: Config, repo: Repository, catalog: CatalogState) -> FeatureChain:
    """Audio features of tracks outside the catalog: catalog → ReccoBeats (when enabled)."""
    sources: list[FeatureSource] = []
    if config.reccobeats.enabled:
        policy = RetryPolicy(
            timeout=config.spotify.request_timeout, max_wait=config.spotify.max_backoff_seconds
        )
        sources.append(ReccoBeats(config.reccobeats.api_base, policy))
    return FeatureChain(repo, sources, catalog)


def spotify_linking(
    config: Config,
    repo: Repository,
    catalog: CatalogState,
    vault: TokenVault,
    states: StateKeeper,
    chain: FeatureChain | None = None,
) -> SpotifyLinking:
    """Spotify linking, taste reading (feature chain: catalog → ReccoBeats → legacy) and playlists."""
    gateway = SpotifyGateway(config.spotify, vault)
    sync = TasteSync(
        repo,
        chain or feature_chain(config, repo, catalog),
        legacy_features=config.spotify.legacy_audio_features,
    )
    return SpotifyLinking(
        gateway,
        states,
        sync,
        redirect_port=config.spotify.redirect_port,
        public_url=config.web.public_url,
        refresh_seconds=config.spotify.refresh_hours * 3600.0,
    )


def build(
    config: Config,
    *,
    show_progress: bool = True,
    cooldown: float | None = None,
    seed: int = 0,
    simulated_heart: bool = True,
) -> Beatmatch:
    """Wire storage, catalog, service and workout manager from ``config``; without a linked
    Pulsoid, workouts use the simulated heart when ``simulated_heart`` (the console)."""
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
    key = load_or_create_key(config.storage.encryption_key, config.data_dir)
    vault = TokenVault(repo, TokenCipher(key))
    states = StateKeeper(repo, key)
    client = PulsoidClient(
        config.pulsoid.client_id,
        config.pulsoid.client_secret,
        config.pulsoid.api_base,
        config.pulsoid.oauth_base,
    )
    accounts = PulsoidAccounts(
        client,
        vault,
        states,
        public_url=config.web.public_url,
        oauth_enabled=bool(config.pulsoid.client_id),
    )
    service.pulsoid = accounts
    speed = config.console.simulator_speed
    streams = HeartStreams(
        accounts, client, simulator_speed=speed if simulated_heart else None, seed=seed
    )
    workouts = WorkoutManager(
        repo,
        catalog.tracks,
        service.pick_for_context,
        streams,
        config.data_dir / "charts",
        responses=HeartResponses(repo, catalog.tracks),
    )
    service.workouts = workouts
    accounts.push = workouts.notify_user
    service.features = feature_chain(config, repo, catalog)
    if config.spotify.client_id:
        service.spotify = spotify_linking(config, repo, catalog, vault, states, service.features)
    service.link_notifier = workouts.notify_user
    return Beatmatch(config, repo, catalog, service, workouts, vault, states, accounts, client)


async def run_console(config: Config) -> None:
    """The console chat on this machine's terminal."""
    app = await asyncio.to_thread(build, config, cooldown=0.0)
    # The catalog and the modules live as long as the process: once the garbage collector stops
    # scanning them, a full collection no longer pauses live workouts for ~0.4 s.
    gc.collect()
    gc.freeze()
    web_runner = None
    try:
        chat = ConsoleChat(app.service, ChatUser("console", config.console.user, "you"))
        app.workouts.notifier = chat.push
        if config.web.public_url:  # OAuth callbacks (Spotify, Pulsoid) come back to this server
            web_runner = await start_web(app.service, config.web.host, config.web.port)
        await app.workouts.resume_all()  # workouts a restart interrupted carry on
        await chat.run()
    finally:
        if web_runner is not None:
            await web_runner.cleanup()
        await app.shutdown()


async def run(config: Config) -> None:
    """``beatmatch run``: the chat fronts whose tokens are configured, else the console."""
    if not (config.telegram.token or config.discord.token):
        await run_console(config)
        return
    from bot.runner import Runner  # the chat libraries load only when a front is configured

    app = await asyncio.to_thread(build, config, simulated_heart=False)
    gc.collect()
    gc.freeze()  # as in run_console: long-lived objects out of the collector's way
    try:
        runner = Runner(app)
    except Exception:
        await app.shutdown()
        raise
    await runner.serve()
