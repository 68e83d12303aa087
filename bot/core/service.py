"""The core service: one method per command, chat-library-free, returning Reply objects.

Blocking work (sqlite, model fitting, file parsing) runs in worker threads so the event loop that
also serves chats and heart-rate streams never stalls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bot.core.catalog import CatalogState
from bot.core.commands import help_text, parse_int
from bot.core.digest import DigestCommands
from bot.core.errors import BadInput, CoolingDown, NotFound, UserFacingError
from bot.core.feature_chain import FeatureChain
from bot.core.genre_models import GenreModels
from bot.core.heart_commands import HeartCommands
from bot.core.progress import Notify, silent
from bot.core.pulsoid_accounts import PulsoidAccounts
from bot.core.pulsoid_commands import PulsoidCommands
from bot.core.replies import Button, ChatUser, Reply, TrackCard
from bot.core.resolve import (
    parse_track_ref,
)
from bot.core.spotify_commands import SpotifyCommands
from bot.core.spotify_linking import SpotifyLinking, playlist_choice
from bot.core.stats import StatsCommands
from bot.core.taste_models import TasteModels, TrainedTaste
from bot.core.track_lookup import TrackLookup
from bot.core.workout_manager import WorkoutManager
from recommender.candidates import cap_per_artist, exclude, merge_pools, song_hashes
from recommender.context import MOODS, Context, canonical_mood
from recommender.explain import sound_matrix
from recommender.recommend import Selection, select
from recommender.tracks import AUDIO_FEATURES, track_row
from storage.errors import ImportFormatError
from storage.exportify import ExportifyLibrary, parse_exportify, read_exportify
from storage.repository import Repository

log = logging.getLogger(__name__)
HEAVY_COMMANDS = ("recommend", "genre", "similar", "import")
SIMILAR_GENRE_SHARE = 0.25  # a classifier's genre this likely counts as the seed's for /similar


@dataclass
class ServiceSettings:
    """Limits and defaults of the service."""

    default_count: int = 10
    max_count: int = 50
    cooldown_seconds: float = 3.0


class BeatmatchService(
    HeartCommands, PulsoidCommands, SpotifyCommands, TrackLookup, StatsCommands, DigestCommands
):
    """Transport-agnostic commands: the chat adapters parse, call one method, render the Reply."""

    def __init__(
        self,
        repo: Repository,
        catalog: CatalogState,
        data_dir: Path,
        settings: ServiceSettings | None = None,
        taste: TasteModels | None = None,
        genres: GenreModels | None = None,
        spotify: SpotifyLinking | None = None,
        features: FeatureChain | None = None,
    ) -> None:
        self.repo = repo
        self.catalog = catalog
        self.data_dir = data_dir
        self.settings = settings or ServiceSettings()
        self.taste = taste or TasteModels(repo, catalog, data_dir / "models")
        self.genres = genres or GenreModels(catalog, data_dir / "models")
        self.workouts: WorkoutManager | None = None
        self.pulsoid: PulsoidAccounts | None = None
        self._last_used: dict[tuple[int, str], float] = {}
        self._last_picks: dict[int, list[str]] = {}
        self._training: dict[int, asyncio.Task[TrainedTaste]] = {}
        self._first: dict[int, asyncio.Task[TrainedTaste]] = {}
        self.spotify = spotify
        #: Audio features of tracks outside the catalog (by default the Spotify link's chain).
        self.features = features or (spotify.sync.chain if spotify is not None else None)
        self.link_notifier = None
        self._spotify_syncs = {}
        self._refreshing = set()
        self._rng = random.Random()

    # -- plumbing -----------------------------------------------------------------------------
    async def uid(self, user: ChatUser) -> int:
        """The internal id of ``user`` (created on first contact)."""
        return await asyncio.to_thread(
            self.repo.user_id, user.platform, user.user_id, user.display_name
        )

    def _cooldown(self, uid: int, command: str) -> None:
        seconds = self.settings.cooldown_seconds
        if seconds <= 0 or command not in HEAVY_COMMANDS:
            return
        now = time.monotonic()
        last = self._last_used.get((uid, command))
        if last is not None and now - last < seconds:
            raise CoolingDown(seconds - (now - last))
        self._last_used[(uid, command)] = now

    def _with_demo_note(self, text: str) -> str:
        note = self.catalog.note
        return f"{text}\n{note}" if note and text else note or text

    def _card(self, track_id: str, row: pd.Series, reason: str = "") -> TrackCard:
        tempo = row.get("tempo")
        energy = row.get("energy")
        return TrackCard(
            track_id=track_id,
            # A track known only by its features (ReccoBeats, no Spotify link) has no name.
            name=str(row.get("name") or "") or f"Spotify track {track_id}",
            artists=str(row.get("artists") or ""),
            reason=reason,
            tempo=float(tempo) if pd.notna(tempo) else None,
            energy=float(energy) if pd.notna(energy) else None,
        )

    # -- help -----------------------------------------------------------------------------------
    async def help(self, user: ChatUser, topic: str = "", console: bool = False) -> Reply:
        """The list of commands, or one command's usage."""
        text = help_text(topic or None, console=console)
        if not topic:
            text += f"\nCatalog: {self.catalog.size:,} tracks" + (
                " (demo)." if self.catalog.is_demo else "."
            )
        return Reply(text=self._with_demo_note(text) if not topic else text, title="beatmatch")

    # -- import ----------------------------------------------------------------------------------
    async def import_library(
        self,
        user: ChatUser,
        path: str = "",
        *,
        data: bytes | None = None,
        filename: str = "upload.csv",
        notify: Notify = silent,
    ) -> Reply:
        """Read an Exportify CSV (a path on this machine, or uploaded bytes) into the library."""
        uid = await self.uid(user)
        self._cooldown(uid, "import")
        if data is None and not path.strip():
            raise BadInput(
                "Give the path of an Exportify CSV: /import PATH. Get one at "
                "exportify.net (Liked Songs → Export)."
            )
        try:
            if data is not None:
                parsed = await asyncio.to_thread(parse_exportify, data, filename)
            else:
                if len(path) > 1024:
                    raise BadInput("That path is too long to be a file on this machine.")
                parsed = await asyncio.to_thread(read_exportify, path.strip())
        except ImportFormatError as error:
            raise BadInput(str(error)) from None
        await notify(f"Read {len(parsed.entries)} tracks; saving them…")
        summary = await asyncio.to_thread(self._store_library, uid, parsed)
        self.schedule_training(uid)
        return Reply(title="Library imported", text=self._with_demo_note(summary))

    def _store_library(self, uid: int, parsed: ExportifyLibrary) -> str:
        self.repo.upsert_tracks(parsed.tracks, "exportify")
        count = self.repo.replace_library(uid, "exportify", parsed.entries)
        in_catalog = int(parsed.tracks.index.isin(self.catalog.tracks.index).sum())
        with_features = int(parsed.tracks[list(AUDIO_FEATURES)].notna().any(axis=1).sum())
        lines = [
            f"Imported {count} tracks from your Exportify file: {in_catalog} are in the "
            f"catalog, {with_features} carry audio features."
        ]
        if parsed.duplicates:
            lines.append(f"{parsed.duplicates} duplicate rows were counted once.")
        if parsed.skipped_local:
            lines.append(
                f"{parsed.skipped_local} local files or podcast episodes were skipped "
                "(not Spotify tracks)."
            )
        lines.extend(parsed.warnings)
        lines.append("Learning your taste now; /recommend when you're ready.")
        return " ".join(lines)

    # -- taste model --------------------------------------------------------------------------
    def schedule_training(self, uid: int) -> asyncio.Task[TrainedTaste]:
        """Start (or join) background training of the user's taste model.

        A user with no model at all first gets a quick one (seconds) so the first answer does not
        wait for the full model, which trains right after it.
        """
        task = self._training.get(uid)
        if task is None or task.done():
            loop = asyncio.get_running_loop()
            if self.taste.cached(uid) is None:
                first = loop.create_task(asyncio.to_thread(self.taste.first_model, uid))
                first.add_done_callback(self._training_done)
                self._first[uid] = first
            task = loop.create_task(self._full_training(uid))
            task.add_done_callback(self._training_done)
            self._training[uid] = task
        return task

    async def _full_training(self, uid: int) -> TrainedTaste:
        first = self._first.get(uid)
        if first is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(first)  # its failure is reported by whoever awaits it
        return await asyncio.to_thread(self.taste.load_or_train, uid)

    async def stop_background(self, timeout: float = 30.0) -> None:
        """At shutdown, before the database closes: library reads stop, no training begins, and
        a fit in progress (it can't be interrupted) is waited for up to ``timeout`` seconds and
        not saved. Whatever stopped here restarts on the user's next command."""
        self.taste.stopping.set()
        for sync in self._spotify_syncs.values():
            sync.cancel()
        groups = (self._first, self._training, self._spotify_syncs)
        pending = [t for group in groups for t in group.values() if not t.done()]
        if pending:
            _, late = await asyncio.wait(pending, timeout=timeout)
            if late:
                log.warning("%d background jobs were still running at shutdown", len(late))

    def _training_done(self, task: asyncio.Task[TrainedTaste]) -> None:
        if task.cancelled():
            return
        error = task.exception()
        if error is not None and not isinstance(error, UserFacingError):
            log.error("background taste training failed", exc_info=error)

    async def _taste(self, uid: int, notify: Notify) -> tuple[TrainedTaste, bool]:
        """(model, is_current): a stale or quick model is served while the full one trains."""
        cached = self.taste.cached(uid)
        if cached is not None and await asyncio.to_thread(self.taste.is_current, cached, uid):
            return cached, True
        task = self.schedule_training(uid)
        if cached is not None:
            return cached, False
        first = self._first.get(uid)
        if first is not None:
            if not first.done():
                if await asyncio.to_thread(self.taste.has_stored, uid):
                    await notify("Loading your taste model…")
                elif size := await asyncio.to_thread(self.repo.library_size, uid):
                    await notify(
                        f"Learning your taste from {size} tracks (a first pass now, the full "
                        "model in the background)…"
                    )
            trained = await asyncio.shield(first)
            return trained, not trained.quick
        return await asyncio.shield(task), True

    # -- recommend ------------------------------------------------------------------------------
    def _parse_mood(self, mood: str | None) -> str | None:
        if mood is None or not mood.strip():
            return None
        canonical = canonical_mood(mood)
        if canonical is None:
            shown = mood.strip()[:30]
            raise BadInput(f"I don't know the mood “{shown}”. Try one of: {', '.join(MOODS)}.")
        return canonical

    async def recommend(
        self,
        user: ChatUser,
        count: int | str | None = None,
        mood: str | None = None,
        bpm: int | str | None = None,
        *,
        playlist: str | None = None,
        notify: Notify = silent,
    ) -> Reply:
        """Tracks the user doesn't have that fit their taste and the moment (optionally posted
        as a Spotify playlist)."""
        n = (
            self.settings.default_count
            if count in (None, "")
            else parse_int(str(count), "The count", 1, self.settings.max_count)
        )
        wanted_mood = self._parse_mood(mood)
        wanted_bpm = None if bpm in (None, "") else parse_int(str(bpm), "bpm", 40, 220)
        wanted_playlist = playlist_choice(playlist)
        uid = await self.uid(user)
        if wanted_playlist is not None:
            await self.require_spotify(uid)
        self._cooldown(uid, "recommend")
        await self.wait_for_spotify(uid, notify)
        await self.refresh_spotify_if_due(uid)  # in the background; this answer doesn't wait
        search = self.start_spotify_search(uid)  # random Spotify tracks, while the model loads
        trained, current = await self._taste(uid, notify)
        context = Context(mood=wanted_mood, bpm=float(wanted_bpm) if wanted_bpm else None)
        heart = self.workouts.context(uid) if self.workouts is not None else None
        if heart is not None:
            context = Context(
                mood=wanted_mood,
                bpm=context.bpm,
                tempo_band=heart.tempo_band,
                energy=heart.energy,
                label=heart.label,
            )
        feedback = await asyncio.to_thread(self.repo.feedback, uid)
        # Read afresh: a model still learning a re-import must not offer what the user now owns.
        owned = await asyncio.to_thread(self.repo.library, uid)
        excluded = set(owned["track_id"]) | set(trained.library["track_id"]) | set(feedback)
        extra, search_note = await self.searched(search, excluded)
        if extra is not None:  # Spotify search tracks the catalog lacks, each once
            extra = exclude(extra, self.catalog.tracks.index)
            extra = extra[~extra.index.duplicated()]
        selection = await asyncio.to_thread(self._select, uid, trained, excluded, n, context, extra)
        if not selection.picks:
            raise NotFound(
                "Nothing left to recommend: the catalog holds no track you don't already have."
            )
        self._last_picks[uid] = [p.track_id for p in selection.picks]
        cards = tuple(
            self._card(p.track_id, self._pick_row(p.track_id, extra), p.reason)
            for p in selection.picks
        )
        header = f"{len(cards)} tracks for you"
        if wanted_mood:
            header += f", mood “{wanted_mood}”"
        if wanted_bpm:
            header += f", around {wanted_bpm} bpm"
        if heart is not None:
            header += f", following {heart.label}"
        footer = self._recommend_footer(trained, selection, current)
        buttons = tuple(
            b
            for c in cards
            for b in (Button("👍", "like", c.track_id), Button("👎", "dislike", c.track_id))
        )
        notes: tuple[str, ...] = (search_note,) if search_note else ()
        if wanted_playlist is not None:
            url = await self.post_playlist(uid, [c.track_id for c in cards], wanted_playlist)
            notes += (f"Spotify playlist: {url}",)
        return Reply(
            title=header + ":", text="", tracks=cards, footer=footer, buttons=buttons, notes=notes
        )

    def _select(
        self,
        uid: int,
        trained: TrainedTaste,
        excluded: set[str],
        n: int,
        context: Context,
        extra: pd.DataFrame | None = None,
    ) -> Selection:
        tracks = self.catalog.tracks
        # Another release of a song the user has (album, single, compilation) is not new to them.
        owned = self.catalog.songs_of(excluded, trained.library_songs)
        mask = ~tracks.index.isin(list(excluded)) & ~self.catalog.same_songs(owned)
        candidates, scores = tracks[mask], trained.catalog_scores[mask]
        if extra is not None and len(extra):
            # Spotify search candidates (already without catalog tracks), scored by the same model.
            extra = exclude(extra, excluded)
            extra = extra[~np.isin(song_hashes(extra), owned)]
        if extra is not None and len(extra):
            model = self.taste.scoring_model(uid, trained)
            candidates = merge_pools(candidates, extra)
            scores = np.r_[scores, model.score(extra)]
        return select(
            candidates,
            scores,
            n,
            library=trained.library_tracks,
            profile=trained.model.profile,
            context=context,
        )

    def _pick_row(self, track_id: str, extra: pd.DataFrame | None) -> pd.Series:
        """A picked track's row: from the search tracks when it came from there, else the catalog."""
        if extra is not None and track_id in extra.index:
            return track_row(extra, track_id)
        return track_row(self.catalog.tracks, track_id)

    def _recommend_footer(self, trained: TrainedTaste, selection: Selection, current: bool) -> str:
        parts = []
        if selection.coherence is not None:
            parts.append(
                f"Playlist coherence {selection.coherence:.2f} (1 = smooth as can be, "
                "0 = random order)"
            )
        weight = trained.model.ensemble.weight
        parts.append(
            f"taste model: {trained.model.trained_on} tracks, "
            f"RF {weight:.0%} / XGBoost {1 - weight:.0%}"
        )
        if trained.quick:
            parts.append("a first-pass model: the full one is still training")
        elif not current:
            parts.append("your latest changes are still being learned")
        footer = " · ".join(parts) + ". Rate tracks with /like N or /dislike N."
        return self._with_demo_note(footer)

    # -- feedback -------------------------------------------------------------------------------
    async def feedback(self, user: ChatUser, ref: str, value: int) -> Reply:
        """Record a like (+1) or dislike (-1) for a track (its number in the last list, or id)."""
        uid = await self.uid(user)
        ref = ref.strip()
        track_id = parse_track_ref(ref)
        if track_id is None:
            picks = self._last_picks.get(uid, [])
            if not ref.isdigit() or not picks:
                raise BadInput(
                    "Say which track: its number in your last /recommend list, or "
                    "its Spotify link or id."
                )
            number = parse_int(ref, "The track number", 1, len(picks))
            track_id = picks[number - 1]
        await asyncio.to_thread(self.repo.set_feedback, uid, track_id, value)
        self.schedule_training(uid)
        name = self._describe(track_id)
        verb = "liked" if value > 0 else "disliked"
        return Reply(
            text=f"Noted: you {verb} {name}. Your next recommendations will take it into account."
        )

    def _describe(self, track_id: str) -> str:
        if track_id in self.catalog.tracks.index:
            row = track_row(self.catalog.tracks, track_id)
            return f"“{row['name']}” by {str(row['artists']).replace(';', ', ')}"
        return f"track {track_id}"

    # -- genre and similar -----------------------------------------------------------------------
    async def genre(self, user: ChatUser, query: str, *, notify: Notify = silent) -> Reply:
        """The catalog's labels for a known track, plus the classifier's top-3 with probabilities."""
        uid = await self.uid(user)
        self._cooldown(uid, "genre")  # before: resolving may ask Spotify and ReccoBeats
        track_id, row = await self._resolve(query, uid)
        card = self._card(track_id, row)
        if int(row[list(AUDIO_FEATURES)].notna().sum()) == 0:
            raise NotFound(
                f"I know {card.title} but not its audio features, so I can't tell its genre."
            )
        if not self.genres.ready:
            await notify(
                f"Training the genre model on {self.catalog.size:,} catalog tracks "
                "(first time only, about a minute)…"
            )
        top3 = await asyncio.to_thread(self.genres.top3, row.to_frame().T)
        labels = self.catalog.labels(track_id)
        lines = []
        if labels:
            lines.append(f"Catalog genre{'s' if len(labels) > 1 else ''}: {', '.join(labels)}")
        guesses = ", ".join(f"{g} {p:.0%}" if p >= 0.005 else f"{g} <1%" for g, p in top3)
        lines.append(f"Classifier's top 3: {guesses}")
        if not labels:
            lines.append("(not labelled in the catalog: this is the classifier's call)")
        return Reply(
            title=f"Genre of {card.title}",
            text=self._with_demo_note("\n".join(lines)),
            tracks=(card,),
        )

    async def similar(self, user: ChatUser, query: str, count: int | str | None = None) -> Reply:
        """Catalog tracks that sound most like a given track (≤ 2 per artist)."""
        n = 10 if count in (None, "") else parse_int(str(count), "The count", 1, 50)
        uid = await self.uid(user)
        self._cooldown(uid, "similar")  # before: resolving may ask Spotify and ReccoBeats
        track_id, row = await self._resolve(query, uid)
        seed = row.to_frame().T
        if int(seed[list(AUDIO_FEATURES)].notna().sum(axis=1).iloc[0]) == 0:
            raise NotFound(
                "I know that track but not its audio features, so I can't find "
                "tracks that sound like it."
            )
        picks = await asyncio.to_thread(self._nearest, track_id, seed, n)
        cards = tuple(self._card(t, track_row(self.catalog.tracks, t), why) for t, why in picks)
        title = self._card(track_id, row).title
        return Reply(
            title=f"Sounds like {title}:", text="", tracks=cards, footer=self._with_demo_note("")
        )

    def _nearest(self, track_id: str, seed: pd.DataFrame, n: int) -> list[tuple[str, str]]:
        """The catalog tracks nearest in sound, among those sharing the seed's genre when it has
        one (the catalog's label, else the classifier's call once it is trained): a pop song's
        neighbours in tempo and energy are other pop songs, not pagode."""
        tracks = self.catalog.tracks
        genres = self._seed_genres(track_id, seed)
        if genres:
            labelled = self.catalog.genres.loc[self.catalog.genres["genre"].isin(genres)]
            same_genre = tracks.index.isin(labelled["track_id"].unique())
            if int(same_genre.sum()) >= max(50, 5 * n):
                tracks = tracks[same_genre]
            else:
                genres = []
        distance = ((sound_matrix(tracks) - sound_matrix(seed)[0]) ** 2).sum(axis=1)
        order = np.argsort(distance, kind="stable")[: max(200, n * 20)]
        ids = [t for t in tracks.index[order] if t != track_id]
        name = str(seed.iloc[0]["name"]).lower()
        ids = [t for t in ids if str(tracks.at[t, "name"]).lower() != name]
        chosen = cap_per_artist(ids, tracks, n)
        also = f"also {' / '.join(genres)}; " if genres else ""
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

    def _seed_genres(self, track_id: str, seed: pd.DataFrame) -> list[str]:
        """The genres /similar keeps to: catalog labels, else the classifier's likely ones (only
        when it is already trained: /similar never waits a minute for a genre model)."""
        labels = self.catalog.labels(track_id)
        if labels or not self.genres.ready:
            return labels
        top = self.genres.top3(seed)
        return [g for g, p in top if p >= SIMILAR_GENRE_SHARE] or [top[0][0]]

    # -- forget -----------------------------------------------------------------------------------
    async def forget(self, user: ChatUser) -> Reply:
        """Erase the user: library, feedback, models, profile, workouts, linked accounts."""
        uid = await self.uid(user)
        for tasks in (self._training, self._first):
            task = tasks.pop(uid, None)
            if task is not None and not task.done():
                task.cancel()
        sync = self._spotify_syncs.pop(uid, None)
        if sync is not None and not sync.done():
            sync.cancel()
        if self.workouts is not None:
            self.workouts.discard(uid)
        if self.pulsoid is not None:
            # Revokes at Pulsoid (best effort) and stops a device-flow poll still waiting.
            await self.pulsoid.unlink(uid)
        counts = await asyncio.to_thread(self.taste.forget, uid, self.repo.forget_user)
        await asyncio.to_thread(self.forget_stats, uid)
        self._last_picks.pop(uid, None)
        self._last_used = {k: v for k, v in self._last_used.items() if k[0] != uid}
        total = sum(v for k, v in counts.items() if k != "users")
        return Reply(
            title="Forgotten",
            text=f"Done: I erased everything I stored about you "
            f"({total} rows: library, feedback, profile, workouts, linked accounts) "
            "and your taste model.",
        )

    def stats(self) -> dict[str, Any]:
        """Numbers for /healthz and logs."""
        return {
            "catalog_tracks": self.catalog.size,
            "demo": self.catalog.is_demo,
            "models_in_memory": self.taste.cached_count(),
        }
