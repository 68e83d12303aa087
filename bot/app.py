"""The composition root: configuration in, a running beatmatch out. Only here are concrete classes
chosen and wired together; every object gets its collaborators in its constructor."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import logging
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.chat.console import ConsoleChat
from bot.config import Config
from bot.core.accounts.pulsoid import PulsoidAccounts
from bot.core.accounts.pulsoid_links import PulsoidLinks
from bot.core.accounts.service import AccountsService
from bot.core.accounts.spotify import SpotifyAccounts
from bot.core.accounts.spotify_links import SpotifyLinks
from bot.core.blend import BlendService
from bot.core.catalog import CatalogState, demo_state
from bot.core.delivery import Outbox
from bot.core.feature_chain import FeatureChain
from bot.core.insight.digest import Digest
from bot.core.insight.service import InsightService
from bot.core.last_picks import LastPicks
from bot.core.lookup.genre_models import GenreModels
from bot.core.lookup.listener_genres import ListenerGenres
from bot.core.lookup.search import TrackFinder
from bot.core.lookup.service import LookupService
from bot.core.lookup.tracks import TrackResolver
from bot.core.metrics import NO_METER, Meter
from bot.core.model_work import ModelWork
from bot.core.oauth import StateKeeper
from bot.core.ports import FeatureSource, JobRunner, Player
from bot.core.replies import ChatUser
from bot.core.service import BeatmatchService
from bot.core.shown_lists import ShownLists
from bot.core.taste.models import TasteModels
from bot.core.taste.picker import TastePicker
from bot.core.taste.playlists import Playlists
from bot.core.taste.service import RecommendSettings, TasteService
from bot.core.taste.spotify_library import SpotifyLibrary
from bot.core.taste.spotify_reader import SpotifyReader
from bot.core.taste.spotify_search import SpotifySearch
from bot.core.taste.training import TasteTraining
from bot.core.users import Users
from bot.core.workout.finish import WorkoutFinisher
from bot.core.workout.heart_response import HeartResponses
from bot.core.workout.live import HeartStreamFactory
from bot.core.workout.manager import WorkoutManager
from bot.core.workout.service import WorkoutService
from bot.health import readiness
from bot.metrics import PrometheusMeter
from bot.progress_bar import ProgressBar
from bot.sources.backoff import RetryPolicy
from bot.sources.heart_streams import HeartStreams
from bot.sources.pulsoid import PulsoidClient
from bot.sources.reccobeats import ReccoBeats
from bot.training.execute import WorkerCatalog
from bot.training.pool import ProcessPool
from bot.web import start_web
from recommender.taste import TasteSettings
from storage.catalog_import import import_catalog
from storage.crypto import TokenCipher, load_or_create_key
from storage.database import DATABASE_FILE, Storage
from storage.token_vault import TokenVault

if TYPE_CHECKING:
    from bot.sources.spotify import SpotifyGateway

log = logging.getLogger(__name__)


@dataclass
class Beatmatch:
    """Everything a running process holds."""

    config: Config
    storage: Storage
    catalog: CatalogState
    service: BeatmatchService
    outbox: Outbox
    work: ModelWork
    workouts: WorkoutManager
    digest: Digest
    vault: TokenVault
    states: StateKeeper
    pulsoid: PulsoidAccounts
    pulsoid_client: PulsoidClient
    spotify: SpotifyGateway | None = None
    metrics: PrometheusMeter | None = None  # with ``web.metrics`` on

    def web_options(self) -> dict[str, Any]:
        """``start_web``/``create_app``'s metrics options for this process."""
        if self.metrics is None:
            return {}
        return {
            "exposition": self.metrics.render,
            "metrics_public": self.config.web.metrics_public,
        }

    @property
    def training(self) -> TasteTraining:
        """Background training of taste models."""
        return self.service.taste.training

    def start(self) -> None:
        """Work that starts with the process, in the background: the genre classifier is loaded,
        or queued for training when this catalog has none yet."""
        self.service.lookup.genres.prepare()

    async def shutdown(self) -> None:
        """Stop model work at once (workers end; a fit in progress is abandoned and redone on
        the next start), library reads and workouts (left open, to resume), device-flow polls
        and HTTP sessions; close the database."""
        await self.work.stop()
        await self.service.taste.stop_background()
        await self.workouts.shutdown()
        await self.pulsoid.close()
        await self.pulsoid_client.close()
        if self.spotify is not None:
            self.spotify.close()
        self.storage.close()


def open_storage(config: Config) -> Storage:
    """The database in the configured data directory."""
    return Storage.open(config.data_dir / DATABASE_FILE)


def release_freed_memory() -> None:
    """Hand memory freed by big loads back to the OS (glibc keeps it otherwise); no-op elsewhere."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def load_catalog(config: Config, storage: Storage, show_progress: bool = True) -> CatalogState:
    """The imported catalog (importing ``catalog.path`` first if it changed), else the demo."""
    if config.catalog.path:
        progress = ProgressBar("importing catalog") if show_progress else None
        import_catalog(storage, config.catalog.path, config.data_dir, progress, force=False)
    if storage.tracks.catalog_size() > 0:
        started = time.perf_counter()
        tracks, genres = storage.tracks.load_catalog()
        release_freed_memory()
        log.info("catalog loaded: %d tracks in %.1f s", len(tracks), time.perf_counter() - started)
        return CatalogState(
            tracks=tracks,
            genres=genres,
            is_demo=False,
            fingerprint=(storage.meta.get("catalog_updated_at") or "")[:16],
        )
    log.info("no catalog imported: using the synthetic demo catalog")
    return demo_state(config.catalog.demo_size)


def feature_sources(config: Config, meter: Meter = NO_METER) -> list[FeatureSource]:
    """The outside feature sources after the catalog: ReccoBeats (when enabled)."""
    if not config.reccobeats.enabled:
        return []
    policy = RetryPolicy(
        timeout=config.spotify.request_timeout, max_wait=config.spotify.max_backoff_seconds
    )
    return [ReccoBeats(config.reccobeats.api_base, policy, meter)]


def spotify_gateway(
    config: Config, vault: TokenVault, meter: Meter = NO_METER
) -> SpotifyGateway | None:
    """The Spotify app when one is configured (``spotify.client_id``), else None; its calls and
    retries counted on ``meter``."""
    if not config.spotify.client_id:
        return None
    from bot.sources.spotify import SpotifyGateway  # spotipy loads only with a Spotify app

    return SpotifyGateway(config.spotify, vault, meter=meter)


def spotify_player(config: Config, gateway: SpotifyGateway | None) -> Player | None:
    """Workouts queue on listeners' Spotify when the operator allows it (``spotify.queue_in_workouts``)
    and a Spotify app is configured."""
    if gateway is None or not config.spotify.queue_in_workouts:
        return None
    from bot.sources.spotify_player import SpotifyPlayer

    return SpotifyPlayer(gateway)


def job_runner(config: Config, catalog: CatalogState) -> JobRunner:
    """Where model work runs: ``beatmatch worker`` processes on Redis when ``training.redis_url``
    is set (``training.workers`` jobs in flight), else the embedded process pool."""
    held = WorkerCatalog(catalog.fingerprint, catalog.tracks, catalog.genres)
    training = config.training
    if training.redis_url:
        from bot.training.redis_runner import RedisRunner  # rq and redis load only when used

        return RedisRunner(training.redis_url, training.queue, held, training.workers)
    return ProcessPool(held, training.workers or None)


def build(
    config: Config,
    *,
    show_progress: bool = True,
    cooldown: float | None = None,
    seed: int = 0,
    simulated_heart: bool = True,
) -> Beatmatch:
    """Open storage, load the catalog and ``assemble`` everything from ``config``; without a
    linked Pulsoid, workouts use the simulated heart when ``simulated_heart`` (the console)."""
    storage = open_storage(config)
    catalog = load_catalog(config, storage, show_progress)
    catalog.prepare()  # the bot's first /recommend must not wait for it (CLI commands don't need it)
    return assemble(
        config, storage, catalog, cooldown=cooldown, seed=seed, simulated_heart=simulated_heart
    )


def assemble(
    config: Config,
    storage: Storage,
    catalog: CatalogState,
    *,
    cooldown: float | None = None,
    seed: int = 0,
    simulated_heart: bool = True,
    taste_settings: TasteSettings | None = None,
    genre_dir: Path | None = None,
    genre_jobs: int = 2,
    heart_streams: HeartStreamFactory | None = None,
    rng: random.Random | None = None,
    runner: JobRunner | None = None,
) -> Beatmatch:
    """Wire every feature over ``storage`` and ``catalog``. The keyword arguments replace a part
    (tests and benchmarks: lighter taste models, a shared genre model, scripted hearts)."""
    data_dir = config.data_dir
    recommend = config.recommend
    users = Users(storage.users, recommend.cooldown_seconds if cooldown is None else cooldown)
    outbox = Outbox()
    picks = LastPicks()
    metrics = PrometheusMeter() if config.web.metrics else None
    meter: Meter = metrics or NO_METER
    work = ModelWork(runner or job_runner(config, catalog), meter)
    key = load_or_create_key(config.storage.encryption_key, data_dir, storage.accounts)
    vault = TokenVault(storage.accounts, TokenCipher(key))
    states = StateKeeper(storage.accounts, key)
    gateway = spotify_gateway(config, vault, meter)
    chain = FeatureChain(
        storage.tracks,
        feature_sources(config, meter),
        catalog,
        legacy_spotify=config.spotify.legacy_audio_features,
    )

    # taste
    settings = taste_settings or TasteSettings(
        negatives_per_positive=recommend.negatives_per_positive,
        recency_half_life_days=float(recommend.recency_half_life_days),
    )
    models = TasteModels(storage.taste, storage.tracks, catalog, data_dir / "models", settings)
    training = TasteTraining(models, storage.taste, work)
    picker = TastePicker(
        models,
        storage.taste,
        catalog,
        shown=storage.shown,
        fresh_days=recommend.fresh_days,
    )
    library = search = None
    if gateway is not None:
        reader = SpotifyReader(storage.taste, storage.tracks, chain)
        library = SpotifyLibrary(
            gateway,
            reader,
            storage.users,
            training,
            refresh_seconds=config.spotify.refresh_hours * 3600.0,
        )
        search = SpotifySearch(gateway, chain, rng=rng)

    # workouts
    client = PulsoidClient(
        config.pulsoid.client_id,
        config.pulsoid.client_secret,
        config.pulsoid.api_base,
        config.pulsoid.oauth_base,
        meter=meter,
    )
    pulsoid = PulsoidAccounts(
        client,
        vault,
        states,
        outbox,
        public_url=config.web.public_url,
        oauth_enabled=bool(config.pulsoid.client_id),
    )
    speed = config.console.simulator_speed
    streams = heart_streams or HeartStreams(
        pulsoid, client, simulator_speed=speed if simulated_heart else None, seed=seed
    )
    responses = HeartResponses(storage.users, storage.workouts, storage.tracks, catalog.tracks)
    manager = WorkoutManager(
        storage.workouts,
        storage.tracks,
        catalog.tracks,
        picker.pick,
        streams,
        WorkoutFinisher(storage.workouts, data_dir / "charts", responses),
        outbox,
        responses=responses,
        player=spotify_player(config, gateway),
        shown=picker.remember,
    )

    taste = TasteService(
        users,
        catalog,
        storage.tracks,
        storage.taste,
        models,
        training,
        picks,
        Playlists(gateway),
        library=library,
        search=search,
        heart=manager,
        settings=RecommendSettings(
            recommend.default_count, recommend.max_count, recommend.fresh_days
        ),
        shown=storage.shown,
        find=TrackFinder(catalog, storage.tracks).find,
    )
    genres = GenreModels(catalog, genre_dir or data_dir / "models", work, n_jobs=genre_jobs)
    lookup = LookupService(
        users,
        catalog,
        TrackResolver(catalog, storage.tracks, chain, gateway),
        genres,
        ListenerGenres(genres, storage.taste, storage.tracks),
    )
    links = (
        SpotifyLinks(gateway, states, config.spotify.redirect_port, config.web.public_url)
        if gateway is not None
        else None
    )
    accounts = AccountsService(
        SpotifyAccounts(users, links, library, outbox), PulsoidLinks(users, pulsoid)
    )
    digest = Digest(
        storage.users, storage.meta, storage.taste, catalog, picker.pick, picks, picker.remember
    )
    insight = InsightService(
        users, catalog, storage.taste, storage.tracks, genres, digest, data_dir / "charts"
    )
    workout = WorkoutService(users, storage.workouts, manager)
    service = BeatmatchService(
        users,
        catalog,
        taste,
        lookup,
        accounts,
        workout,
        insight,
        readiness=readiness(storage.sql.path, catalog),
        meter=meter,
        lists=ShownLists(storage.shown_lists),
        blend=BlendService(
            users,
            storage.users,
            storage.blend,
            catalog,
            storage.taste,
            models,
            training,
            RecommendSettings(recommend.default_count, recommend.max_count),
            taste.playlists,
        ),
    )
    if metrics is not None:
        metrics.watch_workouts(lambda: len(manager.live))
    return Beatmatch(
        config=config,
        storage=storage,
        catalog=catalog,
        service=service,
        outbox=outbox,
        work=work,
        workouts=manager,
        digest=digest,
        vault=vault,
        states=states,
        pulsoid=pulsoid,
        pulsoid_client=client,
        spotify=gateway,
        metrics=metrics,
    )


async def run_console(config: Config, log_file: Path | None = None) -> None:
    """The console chat on this machine's terminal (``log_file``: where the log goes, said in
    the greeting)."""
    app = await asyncio.to_thread(build, config, cooldown=0.0)
    # The catalog and the modules live as long as the process: once the garbage collector stops
    # scanning them, a full collection no longer pauses live workouts for ~0.4 s.
    gc.collect()
    gc.freeze()
    web_runner = None
    try:
        chat = ConsoleChat(
            app.service, ChatUser("console", config.console.user, "you"), log_file=log_file
        )
        app.outbox.connect(chat.push)
        if config.web.public_url:  # OAuth callbacks (Spotify, Pulsoid) come back to this server
            web_runner = await start_web(
                app.service, config.web.host, config.web.port, **app.web_options()
            )
        app.start()
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
    await serve(config)


async def serve(config: Config) -> None:
    """``beatmatch serve``: the service — web server, the chat fronts whose tokens are set (none
    is fine: the web app alone), workouts, model work — until SIGTERM/SIGINT. It never reads the
    terminal, so it stays up with a closed stdin (``docker run -d``)."""
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
