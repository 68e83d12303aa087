"""The lookup feature: /genre and /similar of any track (catalog, stored, or looked up on Spotify)."""

from __future__ import annotations

import asyncio

import pandas as pd

from bot.core.cards import track_card
from bot.core.catalog import CatalogState
from bot.core.commands import check_int
from bot.core.errors import NotFound
from bot.core.lookup.genre_models import GenreModels
from bot.core.lookup.listener_genres import ListenerGenres
from bot.core.lookup.search import Suggestion
from bot.core.lookup.tracks import TrackResolver
from bot.core.replies import ChatUser, Reply
from bot.core.users import Users
from recommender.similar import seed_distribution, similar_tracks
from recommender.tracks import AUDIO_FEATURES, track_row

SIMILAR_GENRE_SHARE = 0.25  # a genre this likely is named in /similar's "also …" line
SIMILAR_GENRES = 10  # the classifier's likeliest genres that make a seed's distribution


class LookupService:
    """Names the genre of a track and finds tracks that sound like it."""

    def __init__(
        self,
        users: Users,
        catalog: CatalogState,
        resolver: TrackResolver,
        genres: GenreModels,
        listener: ListenerGenres,
    ) -> None:
        """``listener``: the classifier moved by a listener's Exportify Genres."""
        self.users = users
        self.catalog = catalog
        self.resolver = resolver
        self.genres = genres
        self.listener = listener

    async def suggest(self, text: str, limit: int = 25) -> list[Suggestion]:
        """Autocomplete for a track option: catalog and stored tracks matching what is typed."""
        return await self.resolver.finder.suggest(text, limit)

    async def genre(self, user: ChatUser, track: str = "") -> Reply:
        """The catalog's labels for a known track, plus the classifier's top-3 with probabilities
        once it is ready (it is never trained inside a command); for a track the catalog does not
        label, the classifier's call is moved by Spotify's genres of its artist from the
        listener's Exportify file, when it has them."""
        uid = await self.users.uid(user)
        self.users.cooldown(uid, "genre")  # before: resolving may ask Spotify and ReccoBeats
        track_id, row = await self.resolver.resolve(track, uid)
        card = track_card(track_id, row)
        if int(row[list(AUDIO_FEATURES)].notna().sum()) == 0:
            raise NotFound(
                f"I know {card.title} but not its audio features, so I can't tell its genre."
            )
        labels = self.catalog.labels(track_id)
        lines = []
        if labels:
            lines.append(f"Catalog genre{'s' if len(labels) > 1 else ''}: {', '.join(labels)}")
        if self.genres.ready:
            seed = row.to_frame().T
            if labels:
                top3, helped = await asyncio.to_thread(self.genres.top3, seed), False
            else:
                answer = await asyncio.to_thread(self.listener.answer, uid, track_id, seed)
                top3, helped = answer.top_k(self.genres.model().classes, 3), answer.from_genres
            guesses = ", ".join(f"{g} {p:.0%}" if p >= 0.005 else f"{g} <1%" for g, p in top3)
            lines.append(f"Classifier's top 3: {guesses}")
            if helped:
                lines.append(
                    "(not labelled in the catalog: the classifier's call, helped by Spotify's "
                    "genres of the artist from your Exportify file)"
                )
            elif not labels:
                lines.append("(not labelled in the catalog: this is the classifier's call)")
        else:
            self.genres.prepare()  # loading or training already, or from now on
            lines.append(self._not_ready(bool(labels)))
        return Reply(
            title=f"Genre of {card.title}",
            text=self.catalog.with_note("\n".join(lines)),
            tracks=(card,),
        )

    def _not_ready(self, labelled: bool) -> str:
        """What /genre says while the classifier is loading or training."""
        if self.genres.status() == "loading":
            wait = "is loading"
            when = "in a moment"
        else:
            wait = (
                f"is still being trained on the {self.catalog.size:,} catalog tracks "
                "(first time only, a minute or two)"
            )
            when = "then"
        if labelled:
            return f"(The genre classifier {wait}; its top 3 shows here {when}.)"
        return (
            f"It isn't labelled in the catalog, and the genre classifier {wait}: "
            f"ask again {when} for its call."
        )

    async def similar(self, user: ChatUser, track: str = "", count: int | None = None) -> Reply:
        """Catalog tracks that sound most like a given track (≤ 2 per artist)."""
        n = 10 if count is None else check_int(count, "The count", 1, 50)
        uid = await self.users.uid(user)
        self.users.cooldown(uid, "similar")  # before: resolving may ask Spotify and ReccoBeats
        track_id, row = await self.resolver.resolve(track, uid)
        seed = row.to_frame().T
        if int(seed[list(AUDIO_FEATURES)].notna().sum(axis=1).iloc[0]) == 0:
            raise NotFound(
                "I know that track but not its audio features, so I can't find "
                "tracks that sound like it."
            )
        picks = await asyncio.to_thread(self._nearest, uid, track_id, seed, n)
        cards = tuple(track_card(t, track_row(self.catalog.tracks, t), why) for t, why in picks)
        title = track_card(track_id, row).title
        return Reply(
            title=f"Sounds like {title}:", text="", tracks=cards, footer=self.catalog.with_note("")
        )

    def _nearest(
        self, uid: int, track_id: str, seed: pd.DataFrame, n: int
    ) -> list[tuple[str, str]]:
        """The catalog tracks nearest in sound within the seed's genre distribution (catalog
        labels, else the classifier's probabilities once it is trained): a pop song's neighbours
        in tempo and energy are other pop songs, not pagode (:mod:`recommender.similar`)."""
        tracks = self.catalog.tracks
        distribution = self._seed_distribution(uid, track_id, seed)
        chosen = similar_tracks(tracks, self.catalog.genres, seed, distribution, n, track_id)
        ranked = sorted(distribution, key=lambda g: -distribution[g])
        main = [g for g in ranked if distribution[g] >= SIMILAR_GENRE_SHARE] or ranked[:1]
        also = f"also {' / '.join(main)}; " if main else ""
        out = []
        for t in chosen:
            r = track_row(tracks, t)
            bits = [
                f"energy {r['energy']:.2f}" if pd.notna(r["energy"]) else "",
                f"{r['tempo']:.0f} bpm" if pd.notna(r["tempo"]) else "",
                f"valence {r['valence']:.2f}" if pd.notna(r["valence"]) else "",
            ]
            out.append((t, also + "close in sound: " + ", ".join(b for b in bits if b)))
        return out

    def _seed_distribution(self, uid: int, track_id: str, seed: pd.DataFrame) -> dict[str, float]:
        """The seed's genre distribution /similar keeps to: catalog labels, else the classifier's
        probabilities moved by the listener's Exportify Genres (only when the classifier is
        already trained: /similar never waits a minute for a genre model; it ranks by sound
        alone meanwhile)."""
        labels = self.catalog.labels(track_id)
        if labels or not self.genres.ready:
            return seed_distribution(labels)
        answer = self.listener.answer(uid, track_id, seed)
        return seed_distribution([], answer.top_k(self.genres.model().classes, SIMILAR_GENRES))
