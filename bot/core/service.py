"""The core's front: what every chat front talks to.

It keeps what is truly shared — who the user is, help, forgetting a user, health figures — and
holds one service per feature, which ``bot.core.dispatch`` routes each command to by the
registry's ``handler`` ("taste.recommend" → ``service.taste.recommend``). Everything it answers is
a ``Reply``; nothing here knows a chat library.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from bot.core.accounts.service import AccountsService
from bot.core.blend import BlendService
from bot.core.catalog import CatalogState
from bot.core.commands import DEFAULT_LIMITS, FRONTS, help_text
from bot.core.forgetting import BUTTON_FRONTS, NO_WORDS, YES_WORDS, cancelled, confirmation
from bot.core.health import Readiness
from bot.core.insight.service import InsightService
from bot.core.lookup.service import LookupService
from bot.core.metrics import NO_METER, Meter
from bot.core.replies import ChatUser, Reply
from bot.core.shown_lists import ShownLists
from bot.core.taste.service import TasteService
from bot.core.users import Users
from bot.core.workout.service import WorkoutService


class BeatmatchService:
    """Users, help and forgetting, plus the feature services commands are routed to."""

    def __init__(
        self,
        users: Users,
        catalog: CatalogState,
        taste: TasteService,
        lookup: LookupService,
        accounts: AccountsService,
        workout: WorkoutService,
        insight: InsightService,
        *,
        readiness: Readiness | None = None,
        meter: Meter = NO_METER,
        lists: ShownLists | None = None,
        blend: BlendService | None = None,
    ) -> None:
        self.users = users
        self.catalog = catalog
        self.taste = taste
        self.lookup = lookup
        self.accounts = accounts
        self.workout = workout
        self.insight = insight
        self.blend = blend  # /blend and /privacy (None: not offered by this assembly)
        self.readiness = readiness or Readiness()  # /readyz: probes and the fronts' states
        self.meter = meter  # commands counted and timed by ``bot.core.dispatch``
        self.lists = lists  # long lists kept for chats that page them (None: no paging)

    @property
    def limits(self) -> Mapping[str, int]:
        """The operator's limits that the registry's options refer to by name."""
        return {**DEFAULT_LIMITS, "max_count": self.taste.settings.max_count}

    async def help(self, user: ChatUser, topic: str = "") -> Reply:
        """The list of commands the user's front offers, or one command's usage."""
        front = user.platform if user.platform in FRONTS else "console"
        text = help_text(topic or None, front=front)
        if topic:
            return Reply(text=text, title="beatmatch")
        text += f"\nCatalog: {self.catalog.size:,} tracks" + (
            " (demo)." if self.catalog.is_demo else "."
        )
        return Reply(text=self.catalog.with_note(text), title="beatmatch")

    async def forget(self, user: ChatUser, confirm: str | None = None) -> Reply:
        """Erase the user (library, feedback, models, profile, workouts, linked accounts) once
        ``confirm`` is "yes"; otherwise say exactly what would be erased and ask."""
        uid = await self.users.uid(user)
        answer = (confirm or "").strip().lower()
        if answer in NO_WORDS:
            return cancelled()
        if answer not in YES_WORDS:
            counts = await asyncio.to_thread(self.users.holdings, uid)
            return confirmation(counts, user.user_id, buttons=user.platform in BUTTON_FRONTS)
        self.taste.cancel(uid)  # training and library reads first: nothing may write after
        self.workout.forget(uid)
        await self.accounts.forget(uid)  # revoked at Pulsoid while the token is still stored
        counts = await self.taste.erase(uid, self.users.erase)
        await self.insight.forget(uid)
        self.users.forget(uid)
        total = sum(v for k, v in counts.items() if k != "users")
        return Reply(
            title="Forgotten",
            text=f"Done: I erased everything I stored about you "
            f"({total} rows: library, feedback, profile, workouts, linked accounts) "
            "and your taste model.",
        )

    def health(self) -> dict[str, Any]:
        """Numbers for /healthz and logs."""
        return {
            "catalog_tracks": self.catalog.size,
            "demo": self.catalog.is_demo,
            "models_in_memory": self.taste.models.cached_count(),
        }
