"""A cold start: a listener with no library and no link names 3–5 songs or artists they love
(``/start Daft Punk, Kendrick Lamar, As It Was``), rates a short list 👍/👎, and is answered at once
by a first guess from those seeds (``recommender.first_guess.seed_scores``).

The seeds are stored (table ``seeds``, erased by /forget); /recommend reads them, with every 👍/👎
since, for as long as the listener has no library. An import or a linked Spotify gives them a
library, and from then on the real taste model (through the training queue) answers instead.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

import pandas as pd

from bot.core.cards import feedback_buttons, track_card
from bot.core.catalog import CatalogState
from bot.core.errors import BadInput
from bot.core.last_picks import LastPicks
from bot.core.offload import bulk
from bot.core.replies import ChatUser, Reply, TrackCard
from bot.core.taste.models import TasteModels, TrainedTaste
from bot.core.users import Users
from recommender.features import artist_key
from recommender.first_guess import artist_rows
from recommender.ranking import allowed, select
from recommender.tracks import track_row
from storage.taste_store import TasteStore

MIN_SEEDS, MAX_SEEDS = 3, 5
#: How many tracks /start offers to rate.
RATE_COUNT = 8
#: Finds tracks by "title", "title - artist" or words of both: best first (``TrackFinder.find``).
Finder = Callable[[str, int], pd.DataFrame]
INVITATION = (
    "I don't know your taste yet. Tell me 3–5 songs or artists you love, separated by commas — "
    "e.g. /start Daft Punk, Kendrick Lamar, As It Was — and I'll make a first guess right away. "
    "Or send your Exportify CSV with /import, or /link spotify, for a taste model of your own."
)


def invitation() -> Reply:
    """What /start without seeds, and /recommend of a listener with no library, answer."""
    return Reply(title="Let's find your taste", text=INVITATION)


def split_seeds(text: str) -> list[str]:
    """The songs or artists named in ``text``: separated by commas, semicolons or new lines."""
    return [part.strip() for part in re.split(r"[,;\n]", text) if part.strip()]


class ColdStart:
    """/start: seeds named, stored, and a short list to rate from the guess they give."""

    def __init__(
        self,
        users: Users,
        catalog: CatalogState,
        taste: TasteStore,
        models: TasteModels,
        picks: LastPicks,
        find: Finder,
    ) -> None:
        self.users = users
        self.catalog = catalog
        self.taste = taste
        self.models = models
        self.picks = picks
        self.find = find

    async def start(self, user: ChatUser, seeds: str = "") -> Reply:
        """Store the 3–5 songs or artists named in ``seeds`` and offer a short list to rate;
        without seeds, say how."""
        named = split_seeds(seeds)
        if not named:
            return invitation()
        if len(named) < MIN_SEEDS or len(named) > MAX_SEEDS:
            raise BadInput(
                f"Name {MIN_SEEDS} to {MAX_SEEDS} songs or artists, separated by commas "
                f"(you named {len(named)}), e.g. /start Daft Punk, Kendrick Lamar, As It Was."
            )
        uid = await self.users.uid(user)
        found, missing = await bulk(self._resolve, named)
        if len(found) < MIN_SEEDS:
            raise BadInput(
                "I couldn't find "
                + ", ".join(f"“{m[:60]}”" for m in missing)
                + f" in the catalog, so I have only {len(found)} of the {MIN_SEEDS} I need. "
                "Try other songs or artists, or write a song as “title - artist”."
            )
        await asyncio.to_thread(self.taste.replace_seeds, uid, [(k, v) for k, v, _ in found])
        trained = await bulk(self.models.seed_guess, uid)
        assert trained is not None  # the seeds were just stored
        cards = await asyncio.to_thread(self._to_rate, uid, trained)
        self.picks.remember(uid, [c.track_id for c in cards])
        lines = ["Got it: " + ", ".join(label for _, _, label in found) + "."]
        if missing:
            lines.append(
                "I couldn't find " + ", ".join(f"“{m[:60]}”" for m in missing) + " in the catalog."
            )
        lines.append(
            f"Rate these {len(cards)} with 👍/👎 (or /like N, /dislike N), then /recommend "
            "for your first guess."
        )
        return Reply(
            title="Your first guess",
            text=" ".join(lines),
            tracks=cards,
            buttons=feedback_buttons(cards),
            footer="A first guess from what you named: /import or /link spotify for a taste "
            "model of your own.",
        )

    def _resolve(self, named: list[str]) -> tuple[list[tuple[str, str, str]], list[str]]:
        """((kind, value, label) of what was found, what was not): an artist the catalog
        credits by that exact name first, else the best catalog track the search finds."""
        index = self.catalog.guess_index()
        tracks = self.catalog.tracks
        found: list[tuple[str, str, str]] = []
        missing: list[str] = []
        for text in named:
            rows = artist_rows(index, text)
            if len(rows):
                first = str(tracks["artists"].iat[int(rows[0])])
                name = next(
                    (a for a in first.split(";") if artist_key(a) == artist_key(text)), text
                )
                found.append(("artist", name.strip(), name.strip()))
                continue
            hits = self.find(text, 10)
            hits = hits[hits.index.isin(tracks.index)]
            if len(hits):
                track_id = str(hits.index[0])
                found.append(("track", track_id, self.catalog.describe(track_id)))
            else:
                missing.append(text)
        return found, missing

    def _to_rate(self, uid: int, trained: TrainedTaste) -> tuple[TrackCard, ...]:
        """The short list to rate: the guess's best, at most one per artist, not yet rated."""
        tracks = self.catalog.tracks
        excluded = set(trained.library["track_id"]) | set(self.taste.feedback(uid))
        keep = allowed(tracks.index, excluded)
        selection = select(
            tracks,
            trained.catalog_scores,
            RATE_COUNT,
            library=trained.library_tracks,
            profile=trained.model.profile,
            keep=keep,
            max_per_artist=1,
        )
        return tuple(
            track_card(p.track_id, track_row(tracks, p.track_id), seeded_reason(p.reason))
            for p in selection.picks
        )


def seeded_reason(reason: str) -> str:
    """A pick's reason as a seeded guess says it: what it sounds like was named, not owned."""
    return reason.replace(" from your library", ", one you named")


def has_no_library(taste: TasteStore, uid: int) -> bool:
    """Whether the listener has no library yet (blocking): the seeds then answer for them."""
    return taste.library_size(uid) == 0
