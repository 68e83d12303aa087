"""The real beatmatch pieces wired around a FakePulsoid, with the short timeouts tests want.

Built like ``bot.app.build`` does (PulsoidClient → PulsoidAccounts → HeartStreams → WorkoutManager
and the service), only with the reconnect backoff, offline delay and flush interval shrunk.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet

from bot.core.catalog import demo_state
from bot.core.heart_response import HeartResponses
from bot.core.oauth import StateKeeper
from bot.core.pulsoid_accounts import PulsoidAccounts
from bot.core.replies import ChatUser, Reply
from bot.core.service import BeatmatchService, ServiceSettings
from bot.core.workout_manager import WorkoutManager
from bot.sources.heart_streams import HeartStreams
from bot.sources.pulsoid import PulsoidClient
from storage.crypto import TokenCipher
from storage.repository import Repository
from storage.token_vault import TokenVault
from tests.fakes.fake_pulsoid import FakePulsoid

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
    """A repository, the Pulsoid client and accounts, the service and the workout manager."""

    fake: FakePulsoid
    repo: Repository
    client: PulsoidClient
    accounts: PulsoidAccounts
    service: BeatmatchService
    manager: WorkoutManager
    inbox: Inbox
    vault: TokenVault

    async def user(self, name: str = "runner", resting: int = 60, top: int = 180) -> int:
        """A chat user with a heart profile (zone 3 from 108, zone 4 from 132 bpm)."""
        uid = await asyncio.to_thread(self.repo.user_id, "telegram", name)
        await asyncio.to_thread(self.repo.update_profile, uid, resting_hr=resting, max_hr=top)
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
        """Shut the manager down (workouts stay open) and close the HTTP session."""
        await self.manager.shutdown()
        await self.accounts.close()
        await self.client.close()


def make_rig(
    fake: FakePulsoid,
    repo: Repository,
    tmp_path: Path,
    *,
    key: bytes | None = None,
    public_url: str = "",
    offline_after: float = 0.5,
    store_every: float = 0.0,
    flush_every: float = 0.05,
    backoff: tuple[float, float] = (0.05, 0.2),
) -> PulsoidRig:
    """Everything wired against ``fake`` (no simulator: unlinked users are asked to link)."""
    key = key or Fernet.generate_key()
    vault = TokenVault(repo, TokenCipher(key))
    client = PulsoidClient(fake.client_id, fake.client_secret, fake.base_url, fake.base_url, 5.0)
    accounts = PulsoidAccounts(client, vault, StateKeeper(repo, key), public_url=public_url)
    catalog = demo_state(DEMO_TRACKS)
    service = BeatmatchService(
        repo, catalog, tmp_path / "data", ServiceSettings(cooldown_seconds=0.0)
    )
    streams = HeartStreams(accounts, client, backoff=backoff, poll_interval=0.02, heartbeat=2.0)
    manager = WorkoutManager(
        repo,
        catalog.tracks,
        service.pick_for_context,
        streams,
        tmp_path / "charts",
        responses=HeartResponses(repo, catalog.tracks),
        offline_after=offline_after,
        store_every=store_every,
        flush_every=flush_every,
        keep_samples=True,  # the tests look at what each session has read
    )
    inbox = Inbox()
    manager.notifier = inbox
    service.workouts = manager
    service.pulsoid = accounts
    accounts.push = manager.notify_user
    return PulsoidRig(fake, repo, client, accounts, service, manager, inbox, vault)
