"""The insight feature: /stats (a picture of your taste) and /digest on|off (a weekly DM)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pandas as pd

from bot.core.catalog import CatalogState
from bot.core.errors import BadInput, NotFound
from bot.core.insight.digest import DIGEST_TRACKS, Digest, when
from bot.core.insight.stats import (
    PROFILE_FEATURES,
    TasteStats,
    describe_stats,
    feature_profile,
    genre_shares,
)
from bot.core.insight.stats_chart import taste_chart_png
from bot.core.ports import GenreGuesser
from bot.core.replies import Chart, ChatUser, Moment, Reply
from bot.core.users import Users
from storage.taste_store import TasteStore
from storage.track_store import TrackStore


class InsightService:
    """What beatmatch has learned of a listener, and their weekly digest."""

    def __init__(
        self,
        users: Users,
        catalog: CatalogState,
        taste: TasteStore,
        tracks: TrackStore,
        genres: GenreGuesser,
        digest: Digest,
        charts_dir: Path,
    ) -> None:
        self.users = users
        self.catalog = catalog
        self.taste = taste
        self.tracks = tracks
        self.genres = genres
        self.digests = digest
        self.charts_dir = charts_dir

    def stats_chart_path(self, uid: int) -> Path:
        """Where the user's /stats picture is written (one per user, replaced each time)."""
        return self.charts_dir / f"stats-u{uid}.png"

    async def stats(self, user: ChatUser) -> Reply:
        """/stats: the user's taste profile against the catalog, top genres and feedback, as a PNG."""
        uid = await self.users.uid(user)
        library = await asyncio.to_thread(self.taste.library, uid)
        feedback = await asyncio.to_thread(self.taste.feedback, uid)
        liked = [t for t, v in feedback.items() if v > 0]
        ids = list(dict.fromkeys([*library["track_id"].astype(str), *liked]))
        if not ids:
            raise NotFound(
                "Nothing to picture yet: /import an Exportify CSV, /link spotify, or like "
                "a few recommendations first."
            )
        taste = await asyncio.to_thread(self._taste_tracks, ids)
        labels = self.catalog.labels_of(taste.index.astype(str))
        labelled = set(labels)
        unlabelled = taste[~taste.index.isin(list(labelled))]
        unlabelled = unlabelled[unlabelled[[c for c, *_ in PROFILE_FEATURES]].notna().any(axis=1)]
        predicted: dict[str, str] = {}
        if len(unlabelled) and self.genres.ready:  # /stats never waits for the classifier
            predicted = await asyncio.to_thread(self._predict_genres, unlabelled)
        per_source = library.drop_duplicates(["track_id", "source"])["source"].value_counts()
        stats = TasteStats(
            tracks=len(ids),
            sources={str(k): int(v) for k, v in per_source.items()},
            likes=len(liked),
            dislikes=sum(1 for v in feedback.values() if v < 0),
            features=feature_profile(taste, self.catalog.tracks),
            genres=genre_shares(taste.index.astype(str), lambda t: labels.get(t, []), predicted),
            classified=len(predicted),
            unclassified=len(unlabelled) - len(predicted),
        )
        path = await asyncio.to_thread(taste_chart_png, stats, self.stats_chart_path(uid))
        return Reply(
            title="Your taste",
            text=self.catalog.with_note(describe_stats(stats)),
            charts=(Chart(path, "your taste against the catalog, top genres, feedback"),),
        )

    def _taste_tracks(self, ids: list[str]) -> pd.DataFrame:
        """Track rows of ``ids``: from the catalog when it has them, else from storage."""
        tracks = self.catalog.tracks
        known = tracks.index.intersection(pd.Index(ids))
        in_catalog = tracks.loc[known]
        in_catalog = in_catalog[~in_catalog.index.duplicated()]
        rest = [t for t in ids if t not in set(known)]
        stored = self.tracks.get_tracks(rest) if rest else tracks.iloc[0:0]
        return pd.concat([in_catalog, stored]) if len(stored) else in_catalog

    def _predict_genres(self, tracks: pd.DataFrame) -> dict[str, str]:
        """The classifier's top genre for each of ``tracks`` (blocking; may train the model)."""
        top = self.genres.top_k(tracks, k=1)
        return {
            str(t): guesses[0][0] for t, guesses in zip(tracks.index, top, strict=True) if guesses
        }

    async def digest(self, user: ChatUser, state: str = "") -> Reply:
        """/digest on|off, or where it stands."""
        uid = await self.users.uid(user)
        word = state.strip().lower()
        if word not in ("", "on", "off"):
            raise BadInput("Use /digest on, /digest off, or /digest to see whether it is on.")
        if word:
            current = await asyncio.to_thread(self.digests.switch, uid, word == "on", time.time())
        else:
            current = await asyncio.to_thread(self.digests.state, uid)
        moments: tuple[Moment, ...] = ()
        if current.get("on"):
            moments = (when(float(current["due"])),)
            text = (
                f"Your weekly digest is on: {DIGEST_TRACKS} fresh recommendations in a private "
                f"message, next on {moments[0].text}. /digest off stops it."
            )
        else:
            text = (
                f"Your weekly digest is off. /digest on sends you {DIGEST_TRACKS} fresh "
                "recommendations in a private message every week."
            )
        return Reply(title="Weekly digest", text=text, moments=moments)

    async def forget(self, uid: int) -> None:
        """Delete the user's /stats picture (their digest settings go with their rows)."""
        await asyncio.to_thread(self.stats_chart_path(uid).unlink, missing_ok=True)
