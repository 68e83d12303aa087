"""One listener's world for the Spotify tests: the fake Spotify and ReccoBeats on loopback, and the
real app wired by ``bot.app.assemble`` against them (small, fast taste models)."""

from __future__ import annotations

import contextlib
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp

from bot.app import Beatmatch
from bot.config import Config
from bot.core.catalog import CatalogState, demo_state
from bot.core.dispatch import handle_text
from bot.core.replies import ChatUser, Reply
from bot.core.service import BeatmatchService
from bot.core.taste.spotify_library import SpotifyLibrary
from bot.core.taste.spotify_search import SpotifySearch
from bot.core.workout.live import HeartStreamFactory
from bot.sources.reccobeats import ReccoBeats
from bot.sources.spotify import SpotifyGateway
from storage.database import Storage
from storage.token_vault import TokenVault
from tests.fakes.fake_reccobeats import FakeReccoBeats
from tests.fakes.fake_spotify import FakeSpotify
from tests.fakes.spotify_world import World, populate
from tests.rig import FAST, make_app, rig_config, settle

__all__ = ["ANN", "BOB", "FAST", "SpotifyEnv", "query_of", "quick_retries", "spotify_env"]

ANN = ChatUser("telegram", "1001", "Ann")
BOB = ChatUser("discord", "2002", "Bob")


@dataclass
class SpotifyEnv:
    """Everything a Spotify test touches."""

    spotify: FakeSpotify
    recco: FakeReccoBeats
    app: Beatmatch
    world: World
    notes: list[str] = field(default_factory=list)

    @property
    def service(self) -> BeatmatchService:
        """The core's front, as the chat fronts get it."""
        return self.app.service

    @property
    def storage(self) -> Storage:
        """The app's storage."""
        return self.app.storage

    @property
    def catalog(self) -> CatalogState:
        """The app's catalog (the demo, 600 tracks)."""
        return self.app.catalog

    @property
    def config(self) -> Config:
        """The app's configuration (pointing at the fakes)."""
        return self.app.config

    @property
    def vault(self) -> TokenVault:
        """Where the app keeps the tokens, encrypted."""
        return self.app.vault

    @property
    def gateway(self) -> SpotifyGateway:
        """The real Spotify adapter the app was built with."""
        gateway = self.app.spotify
        assert isinstance(gateway, SpotifyGateway)
        return gateway

    @property
    def library(self) -> SpotifyLibrary:
        """Background reads of linked libraries (the taste feature's)."""
        library = self.service.taste.library
        assert library is not None
        return library

    @property
    def search(self) -> SpotifySearch:
        """Spotify search candidates for /recommend."""
        search = self.service.taste.search
        assert search is not None
        return search

    async def uid(self, user: ChatUser = ANN) -> int:
        """The internal id of ``user``."""
        return await self.service.users.uid(user)

    async def notify(self, message: str) -> None:
        """Progress lines, as a chat would show them."""
        self.notes.append(message)

    async def say(self, user: ChatUser, text: str) -> Reply:
        """Type ``text`` into the chat as ``user``."""
        return await handle_text(self.service, user, text, notify=self.notify)

    async def authorize(self, reply: Reply) -> str:
        """Follow the link in a /link reply as the browser would; the address it lands on."""
        url = next(w for w in reply.text.split() if w.startswith("http") and "authorize" in w)
        async with (
            aiohttp.ClientSession() as browser,
            browser.get(url, allow_redirects=False) as response,
        ):
            assert response.status == 302, await response.text()
            return response.headers["Location"]

    async def link(self, user: ChatUser = ANN, wait: bool = True) -> Reply:
        """/link spotify, approve, paste the address back; wait for the library read."""
        landed = await self.authorize(await self.say(user, "/link spotify"))
        reply = await self.say(user, landed)
        if wait:
            await self.synced(user)
        return reply

    async def synced(self, user: ChatUser = ANN) -> None:
        """Wait until the background library read of ``user`` is over."""
        task = self.library.reading(await self.uid(user))
        if task is not None:
            with contextlib.suppress(Exception):
                await task

    async def settle(self) -> None:
        """Let background work finish so no thread outlives the test's loop."""
        await settle(self.app)


def quick_retries(env: SpotifyEnv, first_delay: float = 0.02) -> None:
    """Shorter pauses between retries on 5xx and timeouts (Retry-After is still honoured)."""
    gateway = env.gateway
    gateway.policy = replace(gateway.policy, first_delay=first_delay)
    gateway.auth.http.policy = gateway.policy
    for source in env.library.reader.chain.sources:
        if isinstance(source, ReccoBeats):
            source.policy = replace(source.policy, first_delay=first_delay)


def query_of(url: str) -> dict[str, str]:
    """The query parameters of ``url`` (first values)."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@contextlib.asynccontextmanager
async def spotify_env(
    tmp_path: Path,
    *,
    public_url: str = "",
    legacy: bool = False,
    saved: int = 60,
    max_backoff: float = 30.0,
    timeout: float = 5.0,
    genre_dir: Path | None = None,
    rng: random.Random | None = None,
    queue_in_workouts: bool = False,
    heart_streams: HeartStreamFactory | None = None,
    metrics: bool = False,
) -> AsyncIterator[SpotifyEnv]:
    """Start the fakes, build the app against them, populate a listener; clean up after.
    ``genre_dir``: where a genre model shared by several tests lives; ``heart_streams``: scripted
    hearts for workouts; ``metrics``: ``web.metrics`` on (``app.metrics`` counts)."""
    spotify, recco = FakeSpotify(legacy=legacy), FakeReccoBeats()
    await spotify.start()
    await recco.start()
    config = rig_config(
        tmp_path,
        BEATMATCH_SPOTIFY_CLIENT_ID=spotify.client_id,
        BEATMATCH_SPOTIFY_CLIENT_SECRET=spotify.client_secret,
        BEATMATCH_SPOTIFY_API_BASE=spotify.api_base,
        BEATMATCH_SPOTIFY_ACCOUNTS_BASE=spotify.accounts_base,
        BEATMATCH_SPOTIFY_LEGACY_AUDIO_FEATURES=str(legacy),
        BEATMATCH_SPOTIFY_MAX_BACKOFF_SECONDS=str(max_backoff),
        BEATMATCH_SPOTIFY_REQUEST_TIMEOUT=str(timeout),
        BEATMATCH_RECCOBEATS_ENABLED="true",
        BEATMATCH_RECCOBEATS_API_BASE=recco.api_base,
        BEATMATCH_WEB_PUBLIC_URL=public_url,
        BEATMATCH_SPOTIFY_QUEUE_IN_WORKOUTS=str(queue_in_workouts),
        BEATMATCH_WEB_METRICS=str(metrics),
    )
    parts: dict[str, Any] = {}
    if genre_dir is not None:
        parts["genre_dir"] = genre_dir
    if rng is not None:
        parts["rng"] = rng
    if heart_streams is not None:
        parts["heart_streams"] = heart_streams
    app = None
    try:
        app = make_app(tmp_path, demo_state(600), config=config, **parts)
        world = populate(spotify, recco, app.catalog.tracks, saved=saved)
        env = SpotifyEnv(spotify, recco, app, world)
        quick_retries(env)
        yield env
    finally:
        if app is not None:
            with contextlib.suppress(Exception):
                await settle(app)
            await app.shutdown()  # closes the Spotify gateway and the storage
        await spotify.stop()
        await recco.stop()
