"""/digest on|off: a weekly private message with fresh recommendations, surviving restarts.

State lives in the database, never only in memory: each user's ``settings["digest"]`` holds
``on``, the next ``due`` time (epoch seconds) and the tracks ``sent`` before (never sent twice),
and the meta key ``digest_subscribers`` lists who has it on. The ``DigestScheduler`` reads both
on every tick, so a restarted bot delivers whatever fell due while it was down (once, not once
per missed week). Delivery goes through the notifier the chat fronts register.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bot.core.catalog import CatalogState
from bot.core.errors import BadInput
from bot.core.heart_response import HeartSteer
from bot.core.replies import Button, ChatUser, Reply, TrackCard
from recommender.context import Context
from recommender.tracks import track_row
from storage.repository import Repository

log = logging.getLogger(__name__)
Notifier = Callable[[int, Reply], Awaitable[None]]
PERIOD_S = 7 * 24 * 3600.0
DIGEST_TRACKS = 10
SENT_KEEP = 500  # tracks remembered as sent; older ones may come back after ~a year
SUBSCRIBERS = "digest_subscribers"
_LOCK = threading.Lock()  # read-modify-write of the subscriber list and digest settings


class Undeliverable(Exception):
    """A chat front cannot reach this user at all (e.g. they refuse private messages)."""


def _subscribers(repo: Repository) -> list[int]:
    try:
        return [int(u) for u in json.loads(repo.get_meta(SUBSCRIBERS) or "[]")]
    except (ValueError, TypeError):
        log.warning("the digest subscriber list was unreadable; starting afresh")
        return []


def _set_subscribed(repo: Repository, uid: int, on: bool) -> None:
    users = set(_subscribers(repo))
    users = users | {uid} if on else users - {uid}
    repo.set_meta(SUBSCRIBERS, json.dumps(sorted(users)))


def _when(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%a %d %b %Y, %H:%M UTC")


class DigestCommands:
    """The /digest mixin; needs ``uid``, ``repo``, ``catalog``, ``pick_for_context``, ``_last_picks``."""

    repo: Repository
    catalog: CatalogState
    _last_picks: dict[int, list[str]]

    async def uid(self, user: ChatUser) -> int:  # provided by BeatmatchService
        raise NotImplementedError

    def pick_for_context(
        self,
        uid: int,
        context: Context,
        n: int,
        exclude: set[str],
        steer: HeartSteer | None = None,
    ) -> list[tuple[str, str]]:  # provided by HeartCommands
        raise NotImplementedError

    async def digest(self, user: ChatUser, state: str = "") -> Reply:
        """/digest on|off, or where it stands."""
        uid = await self.uid(user)
        word = state.strip().lower()
        if word not in ("", "on", "off"):
            raise BadInput("Use /digest on, /digest off, or /digest to see whether it is on.")
        if word:
            settings = await asyncio.to_thread(self._switch_digest, uid, word == "on", time.time())
        else:
            settings = await asyncio.to_thread(self.repo.user_settings, uid)
        current = settings.get("digest") or {}
        if current.get("on"):
            text = (
                f"Your weekly digest is on: {DIGEST_TRACKS} fresh recommendations in a private "
                f"message, next on {_when(float(current['due']))}. /digest off stops it."
            )
        else:
            text = (
                f"Your weekly digest is off. /digest on sends you {DIGEST_TRACKS} fresh "
                "recommendations in a private message every week."
            )
        return Reply(title="Weekly digest", text=text)

    def _switch_digest(self, uid: int, on: bool, now: float) -> dict[str, Any]:
        with _LOCK:
            current = dict(self.repo.user_settings(uid).get("digest") or {})
            if on and not current.get("on"):
                current["due"] = now + PERIOD_S
            current["on"] = on
            settings = self.repo.update_user_settings(uid, digest=current)
            _set_subscribed(self.repo, uid, on)
        return settings

    def digest_reply(self, uid: int) -> Reply:
        """The digest itself: fresh tracks the user was never sent before (blocking)."""
        sent = list((self.repo.user_settings(uid).get("digest") or {}).get("sent") or [])
        picks = self.pick_for_context(uid, Context(), DIGEST_TRACKS, set(sent), None)
        tracks = self.catalog.tracks
        cards = tuple(
            TrackCard(
                track_id=t,
                name=str(track_row(tracks, t)["name"]),
                artists=str(track_row(tracks, t)["artists"]),
                reason=why,
            )
            for t, why in picks
        )
        with _LOCK:
            current = dict(self.repo.user_settings(uid).get("digest") or {})
            current["sent"] = ([*sent, *(c.track_id for c in cards)])[-SENT_KEEP:]
            self.repo.update_user_settings(uid, digest=current)
        self._last_picks[uid] = [c.track_id for c in cards]
        notes: tuple[str, ...] = ()
        if not self.repo.library_size(uid):
            notes = (
                "I don't know your taste yet, so these are popular picks: /import an "
                "Exportify CSV or /link spotify.",
            )
        return Reply(
            title=f"Your weekly beatmatch digest: {len(cards)} fresh tracks",
            text="" if cards else "Nothing new to recommend this week.",
            tracks=cards,
            buttons=tuple(
                b
                for c in cards
                for b in (Button("👍", "like", c.track_id), Button("👎", "dislike", c.track_id))
            ),
            notes=notes,
            footer=(self.catalog.note + "\n" if self.catalog.note else "")
            + "/digest off stops these.",
        )

    def digest_due(self, now: float) -> tuple[list[int], float | None]:
        """(users whose digest is due, the next due time after ``now``); prunes stale entries."""
        due, upcoming, stale = [], [], []
        for uid in _subscribers(self.repo):
            state = self.repo.user_settings(uid).get("digest") or {}
            if not state.get("on"):
                stale.append(uid)  # switched off, or the user was forgotten
            elif float(state.get("due") or 0.0) <= now:
                due.append(uid)
            else:
                upcoming.append(float(state["due"]))
        if stale:
            with _LOCK:
                for uid in stale:
                    _set_subscribed(self.repo, uid, False)
        return due, min(upcoming, default=None)

    def reschedule_digest(self, uid: int, due: float | None) -> None:
        """Set the next due time, or switch the digest off (``due`` None)."""
        with _LOCK:
            current = dict(self.repo.user_settings(uid).get("digest") or {})
            if not current:
                return
            if due is None:
                current["on"] = False
                _set_subscribed(self.repo, uid, False)
            else:
                current["due"] = due
            self.repo.update_user_settings(uid, digest=current)


class DigestScheduler:
    """Sends every due digest, then sleeps until the next one (at most ``tick`` seconds)."""

    def __init__(
        self,
        service: DigestCommands,
        notifier: Notifier | None = None,
        *,
        clock: Callable[[], float] = time.time,
        tick: float = 60.0,
    ) -> None:
        self.service = service
        self.notifier = notifier
        self.clock = clock
        self.tick = tick

    async def deliver_due(self) -> tuple[int, float | None]:
        """Send the digests due now: (how many were sent, the next due time)."""
        if self.notifier is None:
            return 0, None
        now = self.clock()
        due, upcoming = await asyncio.to_thread(self.service.digest_due, now)
        sent = 0
        for uid in due:
            # Rescheduled before sending: a crash mid-send skips one digest rather than
            # repeating it forever.
            await asyncio.to_thread(self.service.reschedule_digest, uid, now + PERIOD_S)
            try:
                reply = await asyncio.to_thread(self.service.digest_reply, uid)
                await self.notifier(uid, reply)
                sent += 1
            except Undeliverable:
                log.info("user %s can't receive private messages: digest switched off", uid)
                await asyncio.to_thread(self.service.reschedule_digest, uid, None)
            except Exception:
                log.exception("the weekly digest of user %s failed", uid)
        if due:
            upcoming = min(upcoming or now + PERIOD_S, now + PERIOD_S)
        return sent, upcoming

    async def run(self) -> None:
        """Deliver due digests until cancelled."""
        while True:
            try:
                _, upcoming = await self.deliver_due()
            except Exception:
                log.exception("the digest scheduler's round failed")
                upcoming = None
            wait = self.tick if upcoming is None else min(self.tick, upcoming - self.clock())
            await asyncio.sleep(max(0.05, wait))
