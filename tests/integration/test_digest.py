"""The weekly digest over a real database: /digest on|off, delivery when due (with a clock the test
sets), fresh tracks every week, a restart in between, refused delivery, forgotten users."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.digest import PERIOD_S, SUBSCRIBERS, DigestScheduler, Undeliverable
from bot.core.errors import BadInput
from bot.core.replies import ChatUser, Reply
from bot.core.service import BeatmatchService
from storage.repository import Repository
from tests.integration.telegram_rig import build_service, library_csv

ANN = ChatUser("telegram", "1001", "Ann")
BOB = ChatUser("discord", "2002", "Bob")
URL = re.compile(r"https://open\.spotify\.com/track/[A-Za-z0-9]{22}")


class Inbox:
    """The notifier: what each user was sent; ``refuse`` makes delivery to a user impossible."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, Reply]] = []
        self.refuse: set[int] = set()

    async def __call__(self, uid: int, reply: Reply) -> None:
        if uid in self.refuse:
            raise Undeliverable("no private messages")
        self.sent.append((uid, reply))


class Clock:
    """A wall clock the test moves."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def genre_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("genre-models")


@pytest.fixture
async def service(
    repo: Repository, tmp_path: Path, genre_dir: Path
) -> AsyncIterator[BeatmatchService]:
    svc = build_service(repo, tmp_path / "data", genre_dir)
    yield svc
    await asyncio.gather(*svc._training.values(), return_exceptions=True)


def _due(service: BeatmatchService, uid: int) -> float:
    return float(service.repo.user_settings(uid)["digest"]["due"])


async def test_digest_on_off_and_status(service: BeatmatchService) -> None:
    assert "is off" in (await service.digest(ANN)).text
    on = await service.digest(ANN, "on")
    assert "is on" in on.text and "next on" in on.text
    uid = await service.uid(ANN)
    assert service.repo.get_meta(SUBSCRIBERS) == f"[{uid}]"
    assert "is on" in (await service.digest(ANN, "")).text
    assert "is off" in (await service.digest(ANN, "OFF")).text
    assert service.repo.get_meta(SUBSCRIBERS) == "[]"
    with pytest.raises(BadInput):
        await service.digest(ANN, "weekly")


async def test_turning_it_on_twice_keeps_the_date(service: BeatmatchService) -> None:
    await service.digest(ANN, "on")
    uid = await service.uid(ANN)
    first = _due(service, uid)
    await asyncio.sleep(0.01)
    await service.digest(ANN, "on")
    assert _due(service, uid) == first


async def test_nothing_is_sent_before_it_is_due(service: BeatmatchService) -> None:
    await service.digest(ANN, "on")
    uid = await service.uid(ANN)
    inbox = Inbox()
    scheduler = DigestScheduler(service, inbox, clock=Clock(_due(service, uid) - 60))
    sent, upcoming = await scheduler.deliver_due()
    assert (sent, inbox.sent) == (0, [])
    assert upcoming == _due(service, uid)


async def test_a_due_digest_brings_ten_fresh_tracks_and_the_next_date(
    service: BeatmatchService,
) -> None:
    await service.digest(ANN, "on")
    uid = await service.uid(ANN)
    clock = Clock(_due(service, uid) + 5)
    inbox = Inbox()
    scheduler = DigestScheduler(service, inbox, clock=clock)
    assert (await scheduler.deliver_due())[0] == 1
    [(to, reply)] = inbox.sent
    assert to == uid
    assert len(reply.tracks) == 10 and "weekly" in reply.title
    assert len(URL.findall(reply.plain_text())) == 10
    assert {b.track_id for b in reply.buttons} == {c.track_id for c in reply.tracks}
    assert _due(service, uid) == clock.now + PERIOD_S

    clock.now += PERIOD_S + 1  # a week later: ten more, none sent before
    await scheduler.deliver_due()
    second = inbox.sent[1][1]
    assert len(second.tracks) == 10
    assert not {c.track_id for c in second.tracks} & {c.track_id for c in reply.tracks}


async def test_a_restart_delivers_what_fell_due_once(
    service: BeatmatchService, tmp_path: Path, genre_dir: Path
) -> None:
    await service.digest(ANN, "on")
    await service.digest(BOB, "on")
    ann, bob = await service.uid(ANN), await service.uid(BOB)
    due = _due(service, ann)
    database = service.repo.db.conn.execute("pragma database_list").fetchone()[2]

    # A new process: a fresh repository on the same file, a fresh service and scheduler,
    # started three weeks after the digest fell due.
    repo = Repository.open(database)
    try:
        again = build_service(repo, tmp_path / "data2", genre_dir)
        inbox = Inbox()
        clock = Clock(due + 3 * PERIOD_S)
        sent, upcoming = await DigestScheduler(again, inbox, clock=clock).deliver_due()
        assert sent == 2 and {uid for uid, _ in inbox.sent} == {ann, bob}  # once each
        assert _due(again, ann) == clock.now + PERIOD_S
        assert upcoming == clock.now + PERIOD_S
        await asyncio.gather(*again._training.values(), return_exceptions=True)
    finally:
        repo.close()


async def test_a_user_who_cannot_be_reached_has_the_digest_switched_off(
    service: BeatmatchService,
) -> None:
    await service.digest(ANN, "on")
    uid = await service.uid(ANN)
    inbox = Inbox()
    inbox.refuse.add(uid)
    await DigestScheduler(service, inbox, clock=Clock(_due(service, uid) + 1)).deliver_due()
    assert service.repo.user_settings(uid)["digest"]["on"] is False
    assert "is off" in (await service.digest(ANN)).text
    assert service.repo.get_meta(SUBSCRIBERS) == "[]"


async def test_a_forgotten_user_drops_out_of_the_schedule(service: BeatmatchService) -> None:
    await service.digest(ANN, "on")
    uid = await service.uid(ANN)
    due = _due(service, uid)
    await service.forget(ANN)
    inbox = Inbox()
    assert (await DigestScheduler(service, inbox, clock=Clock(due + 1)).deliver_due())[0] == 0
    assert service.repo.get_meta(SUBSCRIBERS) == "[]"


async def test_the_scheduler_loop_sends_and_carries_on(service: BeatmatchService) -> None:
    await service.digest(ANN, "on")
    uid = await service.uid(ANN)
    inbox = Inbox()
    scheduler = DigestScheduler(service, inbox, clock=Clock(_due(service, uid) + 1), tick=0.05)
    task = asyncio.get_running_loop().create_task(scheduler.run())
    try:
        for _ in range(200):
            if inbox.sent:
                break
            await asyncio.sleep(0.02)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert len(inbox.sent) == 1  # rescheduled a week on: not sent again at the next tick


async def test_with_a_library_the_digest_follows_the_taste(
    service: BeatmatchService, tmp_path: Path
) -> None:
    await service.import_library(ANN, data=library_csv(service, tmp_path / "l.csv"))
    await asyncio.gather(*service._training.values(), return_exceptions=True)
    uid = await service.uid(ANN)
    reply = await asyncio.to_thread(service.digest_reply, uid)
    assert not reply.notes  # no "popular picks" excuse: the taste model chose
    owned = set(service.repo.library(uid)["track_id"])
    assert not {c.track_id for c in reply.tracks} & owned
    labels = [service.catalog.labels(c.track_id)[0] for c in reply.tracks]
    assert labels.count("acoustic") >= 4, labels
