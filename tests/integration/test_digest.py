"""The weekly digest over a real database: /digest on|off, delivery when due (with a clock the test
sets), fresh tracks every week, a restart in between, refused delivery, forgotten users."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import Beatmatch
from bot.core.delivery import Undeliverable
from bot.core.errors import BadInput
from bot.core.insight.digest import PERIOD_S, SUBSCRIBERS, DigestScheduler
from bot.core.replies import ChatUser, Reply
from storage.database import Storage
from tests.integration.telegram_rig import library_csv, make_core
from tests.rig import settle

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


@pytest.fixture
async def app(tmp_path: Path, genre_dir: Path) -> AsyncIterator[Beatmatch]:
    core = make_core(tmp_path, genre_dir)
    yield core
    await settle(core)
    await core.shutdown()


def _due(app: Beatmatch, uid: int) -> float:
    return float(app.storage.users.user_settings(uid)["digest"]["due"])


def scheduler_of(app: Beatmatch, inbox: Inbox, clock: Clock, **kwargs: float) -> DigestScheduler:
    """The scheduler over ``app``'s digest, delivering into ``inbox`` (the outbox's notifier)."""
    app.outbox.connect(inbox)
    return DigestScheduler(app.digest, app.outbox, clock=clock, **kwargs)


async def test_digest_on_off_and_status(app: Beatmatch) -> None:
    digest = app.service.insight.digest
    assert "is off" in (await digest(ANN)).text
    on = await digest(ANN, "on")
    assert "is on" in on.text and "next on" in on.text
    uid = await app.service.users.uid(ANN)
    assert app.storage.meta.get(SUBSCRIBERS) == f"[{uid}]"
    assert "is on" in (await digest(ANN, "")).text
    assert "is off" in (await digest(ANN, "OFF")).text
    assert app.storage.meta.get(SUBSCRIBERS) == "[]"
    with pytest.raises(BadInput):
        await digest(ANN, "weekly")


async def test_turning_it_on_twice_keeps_the_date(app: Beatmatch) -> None:
    await app.service.insight.digest(ANN, "on")
    uid = await app.service.users.uid(ANN)
    first = _due(app, uid)
    await asyncio.sleep(0.01)
    await app.service.insight.digest(ANN, "on")
    assert _due(app, uid) == first


async def test_nothing_is_sent_before_it_is_due(app: Beatmatch) -> None:
    await app.service.insight.digest(ANN, "on")
    uid = await app.service.users.uid(ANN)
    inbox = Inbox()
    scheduler = scheduler_of(app, inbox, Clock(_due(app, uid) - 60))
    sent, upcoming = await scheduler.deliver_due()
    assert (sent, inbox.sent) == (0, [])
    assert upcoming == _due(app, uid)


async def test_a_due_digest_brings_ten_fresh_tracks_and_the_next_date(app: Beatmatch) -> None:
    await app.service.insight.digest(ANN, "on")
    uid = await app.service.users.uid(ANN)
    clock = Clock(_due(app, uid) + 5)
    inbox = Inbox()
    scheduler = scheduler_of(app, inbox, clock)
    assert (await scheduler.deliver_due())[0] == 1
    [(to, reply)] = inbox.sent
    assert to == uid
    assert len(reply.tracks) == 10 and "weekly" in reply.title
    assert len(URL.findall(reply.plain_text())) == 10
    assert {b.track_id for b in reply.buttons} == {c.track_id for c in reply.tracks}
    assert _due(app, uid) == clock.now + PERIOD_S

    clock.now += PERIOD_S + 1  # a week later: ten more, none sent before
    await scheduler.deliver_due()
    second = inbox.sent[1][1]
    assert len(second.tracks) == 10
    assert not {c.track_id for c in second.tracks} & {c.track_id for c in reply.tracks}


async def test_a_restart_delivers_what_fell_due_once(
    app: Beatmatch, tmp_path: Path, genre_dir: Path
) -> None:
    await app.service.insight.digest(ANN, "on")
    await app.service.insight.digest(BOB, "on")
    ann, bob = await app.service.users.uid(ANN), await app.service.users.uid(BOB)
    due = _due(app, ann)
    database = app.storage.sql.db.conn.execute("pragma database_list").fetchone()[2]

    # A new process: a fresh storage on the same file, a fresh core and scheduler,
    # started three weeks after the digest fell due.
    again = make_core(tmp_path / "restarted", genre_dir, storage=Storage.open(database))
    try:
        inbox = Inbox()
        clock = Clock(due + 3 * PERIOD_S)
        sent, upcoming = await scheduler_of(again, inbox, clock).deliver_due()
        assert sent == 2 and {uid for uid, _ in inbox.sent} == {ann, bob}  # once each
        assert _due(again, ann) == clock.now + PERIOD_S
        assert upcoming == clock.now + PERIOD_S
    finally:
        await settle(again)
        await again.shutdown()


async def test_a_user_who_cannot_be_reached_has_the_digest_switched_off(app: Beatmatch) -> None:
    await app.service.insight.digest(ANN, "on")
    uid = await app.service.users.uid(ANN)
    inbox = Inbox()
    inbox.refuse.add(uid)
    await scheduler_of(app, inbox, Clock(_due(app, uid) + 1)).deliver_due()
    assert app.storage.users.user_settings(uid)["digest"]["on"] is False
    assert "is off" in (await app.service.insight.digest(ANN)).text
    assert app.storage.meta.get(SUBSCRIBERS) == "[]"


async def test_a_forgotten_user_drops_out_of_the_schedule(app: Beatmatch) -> None:
    await app.service.insight.digest(ANN, "on")
    uid = await app.service.users.uid(ANN)
    due = _due(app, uid)
    await app.service.forget(ANN, "yes")
    inbox = Inbox()
    assert (await scheduler_of(app, inbox, Clock(due + 1)).deliver_due())[0] == 0
    assert app.storage.meta.get(SUBSCRIBERS) == "[]"


async def test_nothing_is_sent_while_no_front_delivers(app: Beatmatch) -> None:
    await app.service.insight.digest(ANN, "on")
    uid = await app.service.users.uid(ANN)
    due = _due(app, uid)
    scheduler = DigestScheduler(app.digest, app.outbox, clock=Clock(due + 1))
    assert await scheduler.deliver_due() == (0, None)  # no notifier: nothing is due-marked
    assert _due(app, uid) == due


async def test_the_scheduler_loop_sends_and_carries_on(app: Beatmatch) -> None:
    await app.service.insight.digest(ANN, "on")
    uid = await app.service.users.uid(ANN)
    inbox = Inbox()
    scheduler = scheduler_of(app, inbox, Clock(_due(app, uid) + 1), tick=0.05)
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


async def test_with_a_library_the_digest_follows_the_taste(app: Beatmatch, tmp_path: Path) -> None:
    data = library_csv(app.service, tmp_path / "l.csv")
    await app.service.taste.import_library(ANN, data=data)
    await settle(app)
    uid = await app.service.users.uid(ANN)
    reply = await asyncio.to_thread(app.digest.reply, uid)
    assert not reply.notes  # no "popular picks" excuse: the taste model chose
    owned = set(app.storage.taste.library(uid)["track_id"])
    assert not {c.track_id for c in reply.tracks} & owned
    labels = [app.catalog.labels(c.track_id)[0] for c in reply.tracks]
    assert labels.count("acoustic") >= 4, labels
