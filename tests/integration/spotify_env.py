"""One listener's world for the Spotify tests: the fake Spotify and ReccoBeats on loopback, and the
real service wired by ``bot.app.spotify_linking`` against them (small, fast taste models)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
from cryptography.fernet import Fernet

from bot.app import spotify_linking
from bot.config import Config, load_config
from bot.core.catalog import CatalogState
from bot.core.dispatch import handle_text
from bot.core.oauth import StateKeeper
from bot.core.replies import ChatUser, Reply
from bot.core.service import BeatmatchService, ServiceSettings
from bot.core.spotify_linking import SpotifyLinking
from bot.core.taste_models import TasteModels
from bot.sources.reccobeats import ReccoBeats
from bot.sources.spotify import SpotifyGateway
from recommender.demo_catalog import demo_catalog
from recommender.ensemble import EnsembleSettings
from recommender.taste import TasteSettings
from storage.crypto import TokenCipher
from storage.repository import Repository
from storage.token_vault import TokenVault
from tests.fakes.fake_reccobeats import FakeReccoBeats
from tests.fakes.fake_spotify import FakeSpotify
from tests.fakes.spotify_world import World, populate

FAST = TasteSettings(ensemble=EnsembleSettings(rf_trees=30, xgb_rounds=30, n_jobs=1))
ANN = ChatUser("telegram", "1001", "Ann")
BOB = ChatUser("discord", "2002", "Bob")


@dataclass
class SpotifyEnv:
    """Everything a Spotify test touches."""

    spotify: FakeSpotify
    recco: FakeReccoBeats
    repo: Repository
    catalog: CatalogState
    config: Config
    service: BeatmatchService
    vault: TokenVault
    world: World
    notes: list[str] = field(default_factory=list)

    @property
    def linking(self) -> SpotifyLinking:
        """The service's Spotify wiring."""
        assert self.service.spotify is not None
        return self.service.spotify

    @property
    def gateway(self) -> SpotifyGateway:
        """The real Spotify adapter."""
        gateway = self.linking.gateway
        assert isinstance(gateway, SpotifyGateway)
        return gateway

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
        uid = await self.service.uid(user)
        task = self.service._spotify_syncs.get(uid)
        if task is not None:
            with contextlib.suppress(Exception):
                await task

    async def settle(self) -> None:
        """Let background work finish so no thread outlives the test's loop."""
        for tasks in (self.service._spotify_syncs, self.service._training):
            for task in list(tasks.values()):
                with contextlib.suppress(BaseException):
                    await task


def quick_retries(env: SpotifyEnv, first_delay: float = 0.02) -> None:
    """Shorter pauses between retries on 5xx and timeouts (Retry-After is still honoured)."""
    gateway = env.gateway
    gateway.policy = replace(gateway.policy, first_delay=first_delay)
    gateway.auth.http.policy = gateway.policy
    for source in env.linking.sync.chain.sources:
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
) -> AsyncIterator[SpotifyEnv]:
    """Start the fakes, build the service against them, populate a listener; clean up after."""
    spotify, recco = FakeSpotify(legacy=legacy), FakeReccoBeats()
    await spotify.start()
    await recco.start()
    config = load_config(
        env={
            "BEATMATCH_STORAGE_DATA_DIR": str(tmp_path / "data"),
            "BEATMATCH_SPOTIFY_CLIENT_ID": spotify.client_id,
            "BEATMATCH_SPOTIFY_CLIENT_SECRET": spotify.client_secret,
            "BEATMATCH_SPOTIFY_API_BASE": spotify.api_base,
            "BEATMATCH_SPOTIFY_ACCOUNTS_BASE": spotify.accounts_base,
            "BEATMATCH_SPOTIFY_LEGACY_AUDIO_FEATURES": str(legacy),
            "BEATMATCH_SPOTIFY_MAX_BACKOFF_SECONDS": str(max_backoff),
            "BEATMATCH_SPOTIFY_REQUEST_TIMEOUT": str(timeout),
            "BEATMATCH_RECCOBEATS_API_BASE": recco.api_base,
            "BEATMATCH_WEB_PUBLIC_URL": public_url,
        }
    )
    repo = Repository.open(tmp_path / "db" / "beatmatch.db")
    tracks, genres = demo_catalog(size=600)
    catalog = CatalogState(tracks=tracks, genres=genres, is_demo=True)
    key = Fernet.generate_key()
    vault = TokenVault(repo, TokenCipher(key))
    service = BeatmatchService(
        repo,
        catalog,
        tmp_path / "data",
        ServiceSettings(cooldown_seconds=0.0),
        taste=TasteModels(repo, catalog, tmp_path / "data" / "models", FAST),
        spotify=spotify_linking(config, repo, catalog, vault, StateKeeper(repo, key)),
    )
    world = populate(spotify, recco, tracks, saved=saved)
    env = SpotifyEnv(spotify, recco, repo, catalog, config, service, vault, world)
    quick_retries(env)
    try:
        yield env
    finally:
        await env.settle()
        env.gateway.close()
        repo.close()
        await spotify.stop()
        await recco.stop()
