"""Random tracks from a linked user's Spotify search, as extra /recommend candidates.

Spotify's 2026 search gives at most 10 items a call (offset ≤ 1000), so a few wildcard queries at
random offsets run at once while the taste model loads; what they find is stored with its audio
features (the feature chain), and whatever goes wrong only means the catalog answers alone.
"""

from __future__ import annotations

import asyncio
import logging
import random
import string

import pandas as pd

from bot.core.errors import UserFacingError
from bot.core.feature_chain import FeatureChain
from bot.core.ports import SEARCH_LIMIT, SEARCH_MAX_OFFSET, SpotifyPort, SpotifyTrack
from bot.core.taste.spotify_reader import gather_or_cancel
from recommender.tracks import AUDIO_FEATURES

log = logging.getLogger(__name__)
#: A search track is a candidate only with at least this many known audio features.
MIN_FEATURES = 6
Found = tuple[pd.DataFrame | None, str]


def random_query(rng: random.Random) -> str:
    """A random wildcard search (``a*`` or ``%a%``): Spotify's classic way to random tracks."""
    char = rng.choice(string.ascii_lowercase + string.digits)
    return f"{char}*" if rng.random() < 0.5 else f"%{char}%"


class SpotifySearch:
    """Search candidates for linked users."""

    def __init__(
        self,
        gateway: SpotifyPort,
        chain: FeatureChain,
        *,
        pages: int = 5,
        rng: random.Random | None = None,
    ) -> None:
        self.gateway = gateway
        self.chain = chain
        self.pages = pages
        self.rng = rng or random.Random()

    async def candidates(self, uid: int, excluded: set[str]) -> Found:
        """Random search tracks with known features, minus ``excluded``; (None, note) on trouble."""
        if await self.gateway.linked_name(uid) is None:
            return None, ""
        rng = self.rng
        queries = [
            (random_query(rng), rng.randint(0, SEARCH_MAX_OFFSET - SEARCH_LIMIT))
            for _ in range(self.pages)
        ]
        try:
            account = await self.gateway.account(uid)
            pages = await gather_or_cancel(
                *(account.search_tracks(q, offset, SEARCH_LIMIT) for q, offset in queries)
            )
        except UserFacingError as error:
            log.info("spotify search skipped for user %s: %s", uid, type(error).__name__)
            return None, f"(Spotify search skipped: {error.message})"
        found: list[SpotifyTrack] = [t for page in pages for t in page]
        fresh = [t for t in found if t.track_id not in excluded]
        if not fresh:
            return None, ""
        frame, _ = await self.chain.store_tracks(fresh, account)
        known = frame[frame[list(AUDIO_FEATURES)].notna().sum(axis=1) >= MIN_FEATURES]
        return known, ""

    def start(self, uid: int) -> asyncio.Task[Found]:
        """Start ``candidates`` in the background (it never fails a recommendation)."""
        task = asyncio.get_running_loop().create_task(self.candidates(uid, set()))
        task.add_done_callback(_search_done)
        return task


async def searched(task: asyncio.Task[Found] | None, excluded: set[str]) -> Found:
    """The search candidates of ``task`` minus ``excluded`` (None when there are none)."""
    if task is None:
        return None, ""
    try:
        frame, note = await task
    except Exception:
        return None, ""  # logged by _search_done; the catalog alone still answers
    if frame is not None:
        frame = frame[~frame.index.isin(list(excluded))]
    return (frame if frame is not None and len(frame) else None), note


def _search_done(task: asyncio.Task[Found]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("Spotify search candidates failed", exc_info=task.exception())
