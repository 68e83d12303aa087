"""The real beatmatch pieces wired around a FakePulsoid, with the short timeouts tests want.

The app is assembled as ``bot.app.assemble`` does it (PulsoidClient → PulsoidAccounts → HeartStreams
→ WorkoutManager and the feature services, ``tests.rig.make_app``) against the fake's address, with
no simulator (unlinked users are asked to link); only the reconnect backoff, offline delay and
flush interval are shrunk afterwards (``quick_timings``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet

from bot.app import Beatmatch
from bot.core.accounts.pulsoid import PulsoidAccounts
from bot.core.catalog import demo_state
from bot.core.replies import ChatUser, Reply
from bot.core.service import BeatmatchService
from bot.core.workout.manager import WorkoutManager
from bot.sources.heart_streams import HeartStreams
from bot.sources.pulsoid import PulsoidClient
from storage.database import Storage
from storage.token_vault import TokenVault
from tests.fakes.fake_pulsoid import FakePulsoid
from tests.rig import make_app, rig_config, settle

DEMO_TRACKS = 300


async def eventually(check: Callable[[], object], timeout: float = 10.0) -> None:
    """Wait until ``check()`` is truthy (AssertionError after ``timeout`` seconds)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not check():
        if loop.time() > end:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.01)


@dataclass
class Inbox:
    """The notifier: every message pushed to a user."""

    messages: list[tuple[int, Reply]] = field(default_factory=list)

    async def __call__(self, user_id: int, reply: Reply) -> None:
        self.messages.append((user_id, reply))

    def texts(self, user_id: int) -> list[str]:
        """Plain text of every message to ``user_id``."""
        return [r.plain_text() for u, r in self.messages if u == user_id]

    def containing(self, user_id: int, words: str) -> list[str]:
        """Messages to ``user_id`` that contain ``words``."""
        return [t for t in self.texts(user_id) if words in t]


@dataclass
class PulsoidRig:
    """The assembled app against a fake Pulsoid, and the inbox its outbox delivers to."""

    fake: FakePulsoid
    app: Beatmatch
    inbox: Inbox

    @property
    def storage(self) -> Storage:
        return self.app.storage

    @property
    def client(self) -> PulsoidClient:
        return self.app.pulsoid_client

    @property
    def accounts(self) -> PulsoidAccounts:
        return self.app.pulsoid

    @property
    def service(self) -> BeatmatchService:
        return self.app.service

    @property
    def manager(self) -> WorkoutManager:
        return self.app.workouts

    @property
    def vault(self) -> TokenVault:
        return self.app.vault

    async def user(self, name: str = "runner", resting: int = 60, top: int = 180) -> int:
        """A chat user with a heart profile (zone 3 from 108, zone 4 from 132 bpm)."""
        uid = await self.service.users.uid(self.chat_user(name))
        await asyncio.to_thread(
            self.storage.workouts.update_profile, uid, resting_hr=resting, max_hr=top
        )
        return uid

    def chat_user(self, name: str = "runner") -> ChatUser:
        """The ChatUser of ``user(name)``."""
        return ChatUser("telegram", name)

    async def link(self, uid: int, profile_id: str = "profile-1") -> str:
        """Link a pasted token for ``uid``; returns it."""
        token = self.fake.issue_token(profile_id)
        await self.accounts.link_pasted(uid, token)
        return token

    async def close(self) -> None:
        """Stop what ``Beatmatch.shutdown`` stops (workouts stay open, device-flow polls end,
        the HTTP session closes) but leave the storage open: the caller owns it, and restart
        tests read it and hand it to the next rig."""
        await settle(self.app)
        await self.service.taste.stop_background()
        await self.manager.shutdown()
        await self.accounts.close()
        await self.client.close()


def quick_timings(
    app: Beatmatch,
    *,
    offline_after: float,
    store_every: float,
    flush_every: float,
    backoff: tuple[float, float],
) -> None:
    """Seconds instead of minutes: the manager's offline delay, downsampling and flush interval,
    the stream's reconnect backoff, poll and heartbeat. Before any workout starts."""
    manager = app.workouts
    manager.offline_after = offline_after
    manager.flush_every = flush_every
    manager.writer.every = store_every
    manager.keep_samples = True  # the tests look at what each session has read
    streams = manager.streams
    assert isinstance(streams, HeartStreams)
    streams.backoff = backoff
    streams.poll_interval = 0.02
    streams.heartbeat = 2.0


def make_rig(
    fake: FakePulsoid,
    storage: Storage,
    tmp_path: Path,
    *,
    key: bytes | None = None,
    public_url: str = "",
    offline_after: float = 0.5,
    store_every: float = 0.0,
    flush_every: float = 0.05,
    backoff: tuple[float, float] = (0.05, 0.2),
    metrics: bool = False,
) -> PulsoidRig:
    """Everything wired against ``fake`` over ``storage`` (no simulator: unlinked users are asked
    to link). Rigs given the same ``key`` read each other's tokens (a restart); ``metrics``:
    ``web.metrics`` on (``app.metrics`` counts)."""
    key = key or Fernet.generate_key()
    config = rig_config(
        tmp_path,
        BEATMATCH_PULSOID_CLIENT_ID=fake.client_id,
        BEATMATCH_PULSOID_CLIENT_SECRET=fake.client_secret,
        BEATMATCH_PULSOID_API_BASE=fake.base_url,
        BEATMATCH_PULSOID_OAUTH_BASE=fake.base_url,
        BEATMATCH_STORAGE_ENCRYPTION_KEY=key.decode(),
        BEATMATCH_WEB_PUBLIC_URL=public_url,
        BEATMATCH_WEB_METRICS=str(metrics),
    )
    app = make_app(
        tmp_path, demo_state(DEMO_TRACKS), storage=storage, config=config, simulated_heart=False
    )
    quick_timings(
        app,
        offline_after=offline_after,
        store_every=store_every,
        flush_every=flush_every,
        backoff=backoff,
    )
    inbox = Inbox()
    app.outbox.connect(inbox)
    return PulsoidRig(fake, app, inbox)
