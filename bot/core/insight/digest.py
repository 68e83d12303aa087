"""/digest on|off: a weekly private message with fresh recommendations, surviving restarts.

State lives in the database, never only in memory: each user's ``settings["digest"]`` holds
``on``, the next ``due`` time (epoch seconds) and the tracks ``sent`` before (never sent twice),
and the meta key ``digest_subscribers`` lists who has it on. The ``DigestScheduler`` reads both
on every tick, so a restarted bot delivers whatever fell due while it was down (once, not once
per missed week). Delivery goes through the outbox the chat fronts connect to.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from bot.core.cards import feedback_buttons, track_card
from bot.core.catalog import CatalogState
from bot.core.delivery import Outbox, Undeliverable
from bot.core.last_picks import LastPicks
from bot.core.metrics import FAILED, NO_METER, OK, Meter
from bot.core.ports import Picker, ShownRecorder
from bot.core.replies import Moment, Reply
from recommender.context import Context
from recommender.tracks import track_row
from storage.meta_store import MetaStore
from storage.taste_store import TasteStore
from storage.user_store import UserStore

log = logging.getLogger(__name__)
PERIOD_S = 7 * 24 * 3600.0
DIGEST_TRACKS = 10
SENT_KEEP = 500  # tracks remembered as sent; older ones may come back after ~a year
SUBSCRIBERS = "digest_subscribers"
_LOCK = threading.Lock()  # read-modify-write of the subscriber list and digest settings


def when(epoch: float) -> Moment:
    """A due time as users read it (UTC text; Discord shows it in the reader's time zone)."""
    return Moment.of(epoch)


class Digest:
    """Who gets the weekly digest, when, and what it says (blocking: call from worker threads)."""

    def __init__(
        self,
        users: UserStore,
        meta: MetaStore,
        taste: TasteStore,
        catalog: CatalogState,
        picker: Picker,
        picks: LastPicks,
        shown: ShownRecorder | None = None,
    ) -> None:
        """``picker`` leaves out what other lists showed lately; ``shown`` is told what each
        digest sends, so /recommend and workouts move on from it too."""
        self.users = users
        self.meta = meta
        self.taste = taste
        self.catalog = catalog
        self.picker = picker
        self.picks = picks
        self.shown = shown

    def _subscribers(self) -> list[int]:
        try:
            return [int(u) for u in json.loads(self.meta.get(SUBSCRIBERS) or "[]")]
        except (ValueError, TypeError):
            log.warning("the digest subscriber list was unreadable; starting afresh")
            return []

    def _set_subscribed(self, uid: int, on: bool) -> None:
        users = set(self._subscribers())
        users = users | {uid} if on else users - {uid}
        self.meta.set(SUBSCRIBERS, json.dumps(sorted(users)))

    def state(self, uid: int) -> dict[str, Any]:
        """The user's digest settings (``on``, ``due``, ``sent``; {} if never set)."""
        return dict(self.users.user_settings(uid).get("digest") or {})

    def switch(self, uid: int, on: bool, now: float) -> dict[str, Any]:
        """Turn the digest on (due a week from now unless already on) or off; the new state."""
        with _LOCK:
            current = self.state(uid)
            if on and not current.get("on"):
                current["due"] = now + PERIOD_S
            current["on"] = on
            self.users.update_user_settings(uid, digest=current)
            self._set_subscribed(uid, on)
        return current

    def reply(self, uid: int) -> Reply:
        """The digest itself: fresh tracks the user was never sent before (nor shown lately by
        another list, unless nothing else is left)."""
        sent = list(self.state(uid).get("sent") or [])
        picks = self.picker(uid, Context(), DIGEST_TRACKS, set(sent), None)
        tracks = self.catalog.tracks
        cards = tuple(track_card(t, track_row(tracks, t), why) for t, why in picks)
        with _LOCK:
            current = self.state(uid)
            current["sent"] = ([*sent, *(c.track_id for c in cards)])[-SENT_KEEP:]
            self.users.update_user_settings(uid, digest=current)
        self.picks.remember(uid, [c.track_id for c in cards])
        if self.shown is not None:
            self.shown(uid, [c.track_id for c in cards])
        notes: tuple[str, ...] = ()
        if not self.taste.library_size(uid):
            notes = (
                "I don't know your taste yet, so these are popular picks: /import an "
                "Exportify CSV or /link spotify.",
            )
        return Reply(
            title=f"Your weekly beatmatch digest: {len(cards)} fresh tracks",
            text="" if cards else "Nothing new to recommend this week.",
            tracks=cards,
            buttons=feedback_buttons(cards),
            notes=notes,
            footer=(self.catalog.note + "\n" if self.catalog.note else "")
            + "/digest off stops these.",
        )

    def due(self, now: float) -> tuple[list[int], float | None]:
        """(users whose digest is due, the next due time after ``now``); prunes stale entries."""
        due, upcoming, stale = [], [], []
        for uid in self._subscribers():
            state = self.state(uid)
            if not state.get("on"):
                stale.append(uid)  # switched off, or the user was forgotten
            elif float(state.get("due") or 0.0) <= now:
                due.append(uid)
            else:
                upcoming.append(float(state["due"]))
        if stale:
            with _LOCK:
                for uid in stale:
                    self._set_subscribed(uid, False)
        return due, min(upcoming, default=None)

    def reschedule(self, uid: int, due: float | None) -> None:
        """Set the next due time, or switch the digest off (``due`` None)."""
        with _LOCK:
            current = self.state(uid)
            if not current:
                return
            if due is None:
                current["on"] = False
                self._set_subscribed(uid, False)
            else:
                current["due"] = due
            self.users.update_user_settings(uid, digest=current)


class DigestScheduler:
    """Sends every due digest, then sleeps until the next one (at most ``tick`` seconds)."""

    def __init__(
        self,
        digest: Digest,
        outbox: Outbox,
        *,
        clock: Callable[[], float] = time.time,
        tick: float = 60.0,
        meter: Meter = NO_METER,
    ) -> None:
        self.digest = digest
        self.meter = meter
        self.outbox = outbox
        self.clock = clock
        self.tick = tick

    async def deliver_due(self) -> tuple[int, float | None]:
        """Send the digests due now: (how many were sent, the next due time)."""
        if not self.outbox.connected:
            return 0, None
        now = self.clock()
        due, upcoming = await asyncio.to_thread(self.digest.due, now)
        sent = 0
        for uid in due:
            # Rescheduled before sending: a crash mid-send skips one digest rather than
            # repeating it forever.
            await asyncio.to_thread(self.digest.reschedule, uid, now + PERIOD_S)
            try:
                reply = await asyncio.to_thread(self.digest.reply, uid)
                await self.outbox.deliver(uid, reply)
                sent += 1
                self.meter.digest_sent(OK)
            except Undeliverable:
                self.meter.digest_sent(FAILED)
                log.info("user %s can't receive private messages: digest switched off", uid)
                await asyncio.to_thread(self.digest.reschedule, uid, None)
            except Exception:
                self.meter.digest_sent(FAILED)
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
