"""The taste feature: /import, /recommend, /like and /dislike, /playlist.

Blocking work (sqlite, file parsing, selection over the catalog) runs in worker threads; model
training never runs inside a command when a stored model exists (``TasteTraining``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bot.core.cards import feedback_buttons, track_card
from bot.core.catalog import CatalogState
from bot.core.commands import check_int, parse_int
from bot.core.errors import BadInput, NotFound
from bot.core.last_picks import LastPicks
from bot.core.offload import bulk
from bot.core.ports import HeartContexts
from bot.core.progress import Notify, silent
from bot.core.replies import ChatUser, Reply
from bot.core.taste.cold_start import (
    ColdStart,
    Finder,
    has_no_library,
    invitation,
    seeded_reason,
)
from bot.core.taste.models import SEED_SONGS_TO_TRAIN, TasteModels, TrainedTaste
from bot.core.taste.playlists import Playlists, playlist_choice
from bot.core.taste.spotify_library import SpotifyLibrary
from bot.core.taste.spotify_search import SpotifySearch, searched
from bot.core.taste.training import TasteTraining
from bot.core.track_refs import parse_track_ref
from bot.core.users import Users
from recommender.candidates import exclude, merge_pools, same_song_rows
from recommender.context import MOODS, Context, canonical_mood
from recommender.ranking import Selection, allowed, select
from recommender.tracks import AUDIO_FEATURES, track_row
from storage.errors import ImportFormatError
from storage.exportify import (
    MAX_BYTES,
    ExportifyLibrary,
    parse_exportify,
    read_exportify,
    too_large,
)
from storage.shown_store import ShownStore
from storage.taste_store import TasteStore
from storage.track_store import TrackStore

log = logging.getLogger(__name__)
#: Library imports parsed and stored at once; the others wait their turn without a thread.
IMPORTS_AT_ONCE = 4
UPLOAD_HINT = (
    "Send your Exportify CSV as a file (exportify.net → Liked Songs → Export): "
    "attach it on Discord's /import, or send it as a document here on Telegram."
)


@dataclass(frozen=True)
class RecommendSettings:
    """The operator's limits and defaults for /recommend."""

    default_count: int = 10
    max_count: int = 50
    #: Days a shown track stays out of the listener's next lists (0: lists may repeat).
    fresh_days: int = 14


class TasteService:
    """What a listener's taste is learned from, and what it recommends."""

    def __init__(
        self,
        users: Users,
        catalog: CatalogState,
        tracks: TrackStore,
        taste: TasteStore,
        models: TasteModels,
        training: TasteTraining,
        picks: LastPicks,
        playlists: Playlists,
        *,
        library: SpotifyLibrary | None = None,
        search: SpotifySearch | None = None,
        heart: HeartContexts | None = None,
        settings: RecommendSettings | None = None,
        find: Finder | None = None,
        shown: ShownStore | None = None,
    ) -> None:
        self.users = users
        self.catalog = catalog
        self.tracks = tracks
        self.taste = taste
        self.models = models
        self.training = training
        self.picks = picks
        self.playlists = playlists
        self.library = library
        self.search = search
        self.heart = heart
        self.settings = settings or RecommendSettings()
        self.shown = shown
        self._imports = asyncio.Semaphore(IMPORTS_AT_ONCE)
        #: /start: a first guess from named songs and artists, for a listener with no library
        self.cold = ColdStart(users, catalog, taste, models, picks, find or tracks.find_tracks)

    # -- /import --------------------------------------------------------------------------------
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
        if data is None and user.platform != "console":
            raise BadInput(UPLOAD_HINT)  # a path names a file on the bot's machine: console only
        uid = await self.users.uid(user)
        self.users.cooldown(uid, "import")
        if data is None and not path.strip():
            raise BadInput(
                "Give the path of an Exportify CSV: /import PATH. Get one at "
                "exportify.net (Liked Songs → Export)."
            )
        if data is None and len(path) > 1024:
            raise BadInput("That path is too long to be a file on this machine.")
        if data is not None and len(data) > MAX_BYTES:  # refused before it is queued or parsed
            raise BadInput(too_large(len(data), filename))
        if self._imports.locked():
            await notify("Other listeners' imports are being saved; yours is next…")
        # A few imports at a time: two hundred at once would otherwise each put their reads in
        # front of the warm listeners' /recommend.
        async with self._imports:
            try:
                if data is not None:
                    parsed = await bulk(parse_exportify, data, filename)
                else:
                    parsed = await bulk(read_exportify, path.strip())
            except ImportFormatError as error:
                raise BadInput(str(error)) from None
            await notify(f"Read {len(parsed.entries)} tracks; saving them…")
            summary = await bulk(self._store_library, uid, parsed)
            await self.training.schedule(uid)
        return Reply(title="Library imported", text=self.catalog.with_note(summary))

    def _store_library(self, uid: int, parsed: ExportifyLibrary) -> str:
        self.tracks.upsert_tracks(parsed.tracks, "exportify")
        count = self.taste.replace_library(uid, "exportify", parsed.entries)
        self.taste.replace_library_genres(uid, parsed.genres)
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

    # -- /recommend -----------------------------------------------------------------------------
    async def recommend(
        self,
        user: ChatUser,
        count: int | None = None,
        mood: str | None = None,
        bpm: int | None = None,
        *,
        playlist: str | None = None,
        fresh: str | None = None,
        notify: Notify = silent,
    ) -> Reply:
        """Tracks the user doesn't have that fit their taste and the moment (optionally posted
        as a Spotify playlist). Tracks shown in the last ``fresh_days`` days are left out unless
        ``fresh`` is "no" (the same list again)."""
        n, wanted_mood, wanted_bpm = list_asked(self.settings, count, mood, bpm)
        wanted_playlist = playlist_choice(playlist)
        wants_fresh = fresh_choice(fresh)
        uid = await self.users.uid(user)
        if wanted_playlist is not None:
            await self.playlists.require_link(uid)
        self.users.cooldown(uid, "recommend")
        search = None
        if self.library is not None:
            await self.library.wait(uid, notify)
            await self.library.refresh_if_due(uid)  # in the background; this answer doesn't wait
        seeded = await self._seeded(uid)
        if seeded is False:
            return invitation()
        if self.search is not None and seeded is None:
            search = self.search.start(uid)  # random Spotify tracks, while the model loads
        if isinstance(seeded, TrainedTaste):
            trained, current = seeded, True
        else:
            trained, current = await self.training.serve(uid, notify)
        context = Context(mood=wanted_mood, bpm=float(wanted_bpm) if wanted_bpm else None)
        heart = self.heart.context(uid) if self.heart is not None else None
        if heart is not None:
            context = Context(
                mood=wanted_mood,
                bpm=context.bpm,
                tempo_band=heart.tempo_band,
                energy=heart.energy,
                label=heart.label,
            )
        excluded = await asyncio.to_thread(self._excluded, uid, trained)
        shown = await asyncio.to_thread(self._recently_shown, uid, wants_fresh)
        extra, search_note = await searched(search, excluded)
        if extra is not None:  # Spotify search tracks the catalog lacks, each once
            extra = exclude(extra, self.catalog.tracks.index)
            extra = extra[~extra.index.duplicated()]
        selection = await asyncio.to_thread(
            self._select, uid, trained, excluded | shown, n, context, extra
        )
        if shown and len(selection.picks) < n:  # everything new was shown lately: repeat some
            shown = set()
            selection = await asyncio.to_thread(
                self._select, uid, trained, excluded, n, context, extra
            )
        if not selection.picks:
            raise NotFound(
                "Nothing left to recommend: the catalog holds no track you don't already have."
            )
        self.picks.remember(uid, [p.track_id for p in selection.picks])
        if self.shown is not None:
            await asyncio.to_thread(self.shown.remember, uid, [p.track_id for p in selection.picks])
        from_seeds = trained.from_seeds
        cards = tuple(
            track_card(
                p.track_id,
                self._pick_row(p.track_id, extra),
                seeded_reason(p.reason) if from_seeds else p.reason,
            )
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
        if shown:
            footer = (
                f"{len(shown)} tracks shown to you in the last {self.settings.fresh_days} days "
                "are left out: /recommend fresh:no shows the same list again.\n" + footer
            )
        notes: tuple[str, ...] = (search_note,) if search_note else ()
        if wanted_playlist is not None:  # its failure is a note: the tracks are shown anyway
            line = await self.playlists.note(uid, [c.track_id for c in cards], wanted_playlist)
            if search_note and search_note.partition(": ")[2].removesuffix(")") in line:
                notes = ()  # the same Spotify trouble is told once, by the playlist's line
            notes += (line,)
        return Reply(
            title=header + ":",
            text="",
            tracks=cards,
            footer=footer,
            buttons=feedback_buttons(cards),
            notes=notes,
        )

    async def _seeded(self, uid: int) -> TrainedTaste | bool | None:
        """For a listener with no library: their seeded first guess, or False when they named
        no seeds either (they are invited to /start); None when they have a library, or a model
        trained on the songs they named and liked (``SEED_SONGS_TO_TRAIN``), which then answers."""
        if not await asyncio.to_thread(has_no_library, self.taste, uid):
            return None
        if await asyncio.to_thread(self.models.seed_songs, uid) >= SEED_SONGS_TO_TRAIN:
            if self.models.cached(uid) is not None or await asyncio.to_thread(
                self.models.has_stored, uid, False
            ):
                return None  # their model answers (and learns what changed since, if anything)
            await self.training.schedule(uid)  # the guess answers until it is there
        guess = await bulk(self.models.seed_guess, uid)
        return False if guess is None else guess

    def _recently_shown(self, uid: int, wants_fresh: bool) -> set[str]:
        """The tracks shown to the listener lately, to be left out (none when they asked for
        the same list again, or when the operator lets lists repeat)."""
        if not wants_fresh or self.shown is None or self.settings.fresh_days <= 0:
            return set()
        return self.shown.since(uid, self.settings.fresh_days)

    def _excluded(self, uid: int, trained: TrainedTaste) -> set[str]:
        """What must not be recommended: the library (read afresh: a model still learning a
        re-import must not offer what the user now owns), the model's and the rated tracks."""
        owned = self.taste.library(uid)
        feedback = self.taste.feedback(uid)
        return set(owned["track_id"]) | set(trained.library["track_id"]) | set(feedback)

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
        if trained.guess:  # no model to score search tracks with: the catalog's will do
            extra = None
        # Another release of a song the user has (album, single, compilation) is not new to them.
        owned = self.catalog.songs_of(excluded, trained.library_songs)
        keep = allowed(tracks.index, excluded) & ~self.catalog.same_songs(owned)
        candidates, scores = tracks, trained.catalog_scores
        if extra is not None and len(extra):
            # Spotify search candidates (already without catalog tracks), scored by the same model.
            extra = exclude(extra, excluded)
            extra = extra[~same_song_rows(extra, owned)]
        # No model to score them with (its file was damaged; a new one trains): the catalog's.
        model = (
            self.models.scoring_model(uid, trained) if extra is not None and len(extra) else None
        )
        if model is not None and extra is not None:
            candidates = merge_pools(tracks[keep], extra)
            scores = np.r_[scores[keep], model.score(extra)]
            keep = np.ones(len(candidates), dtype=bool)
        return select(
            candidates,
            scores,
            n,
            library=trained.library_tracks,
            profile=trained.model.profile,
            context=context,
            keep=keep,  # the catalog itself, not a copy of what is left of it, when no extras
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
        if trained.seeds:
            parts.append(
                f"a first guess from the {trained.seeds} songs and artists you named with /start "
                "and your ratings: /import or /link spotify for a taste model of your own"
            )
        elif trained.guess:
            parts.append(
                f"a first guess from the artists and sound of your {trained.model.trained_on} "
                "tracks: your taste model is waiting its turn to train"
            )
        elif trained.from_seeds:
            parts.append(
                f"your taste model, learned from {trained.model.trained_on} tracks (the songs "
                "and artists you named, the songs you liked): /import or /link spotify to teach "
                "it your whole library"
            )
        else:
            parts.append(
                f"taste model: {trained.model.trained_on} tracks, "
                f"RF {weight:.0%} / XGBoost {1 - weight:.0%}"
            )
        if trained.quick and not trained.guess:
            parts.append("a first-pass model: the full one is still training")
        elif not current and not trained.guess:
            parts.append("your latest changes are still being learned")
        footer = " · ".join(parts) + ". Rate tracks with /like N or /dislike N."
        return self.catalog.with_note(footer)

    # -- /like and /dislike ---------------------------------------------------------------------
    async def like(self, user: ChatUser, track: str = "") -> Reply:
        """/like N|TRACK."""
        return await self.feedback(user, track, 1)

    async def dislike(self, user: ChatUser, track: str = "") -> Reply:
        """/dislike N|TRACK."""
        return await self.feedback(user, track, -1)

    async def feedback(self, user: ChatUser, ref: str, value: int) -> Reply:
        """Record a like (+1) or dislike (-1) for a track (its number in the last list, or id)."""
        uid = await self.users.uid(user)
        ref = ref.strip()
        track_id = parse_track_ref(ref)
        if track_id is None:
            picks = self.picks.of(uid)
            if not ref.isdigit() or not picks:
                raise BadInput(
                    "Say which track: its number in your last /recommend list, or "
                    "its Spotify link or id."
                )
            number = parse_int(ref, "The track number", 1, len(picks))
            track_id = picks[number - 1]
        await asyncio.to_thread(self.taste.set_feedback, uid, track_id, value)
        name = self.catalog.describe(track_id)
        verb = "liked" if value > 0 else "disliked"
        if not await asyncio.to_thread(self.taste.library_size, uid):
            # No library: the seeded first guess reads every rating at once; a model is trained
            # on the songs named and liked once there are enough of them.
            songs = await asyncio.to_thread(self.models.seed_songs, uid)
            if songs < SEED_SONGS_TO_TRAIN:
                more = SEED_SONGS_TO_TRAIN - songs
                return Reply(  # short: Telegram shows ≤ 200 characters of a button's answer
                    text=f"Noted: you {verb} {name}. Your first guess takes it into account "
                    f"now; like {more} more song{'s' if more > 1 else ''} for a taste model of "
                    "your own (or /import, /link spotify)."
                )
            await self.training.schedule(uid)
            return Reply(
                text=f"Noted: you {verb} {name}. Your own taste model is learning from the "
                f"{songs} songs you named and liked; the first guess answers meanwhile."
            )
        await self.training.schedule(uid)
        return Reply(
            text=f"Noted: you {verb} {name}. Your next recommendations will take it into account."
        )

    # -- /playlist ------------------------------------------------------------------------------
    async def playlist(self, user: ChatUser, name: str = "", *, notify: Notify = silent) -> Reply:
        """/playlist [name]: your last recommendations as a Spotify playlist (or fresh ones)."""
        uid = await self.users.uid(user)
        await self.playlists.require_link(uid)
        picks = self.picks.of(uid)
        if not picks:
            return await self.recommend(user, playlist=name or "yes", notify=notify)
        url = await self.playlists.post(uid, picks, name.strip()[:100])
        return Reply(
            title="Playlist created",
            text=f"Your last {len(picks)} recommendations, in their smooth order:\n{url}",
        )

    # -- background work and erasure ------------------------------------------------------------
    async def finish_training(self, user: ChatUser, notify: Notify = silent) -> bool:
        """Wait for the user's taste model being trained to be saved (a console closing: the
        next start then loads it instead of training again); True if there was one."""
        uid = await self.users.uid(user)
        if not self.training.busy(uid):
            return False
        await notify("Saving your taste model before leaving (a few seconds)…")
        await self.training.idle(uid)
        return True

    async def stop_background(self, timeout: float = 5.0) -> None:
        """At shutdown, before the database closes (after the model-work queue has stopped):
        library reads stop and are waited for up to ``timeout`` seconds. Whatever stopped here
        restarts on the user's next command."""
        if self.library is None:
            return
        self.library.cancel_all()
        pending = self.library.running()
        if pending:
            _, late = await asyncio.wait(pending, timeout=timeout)
            if late:
                log.warning("%d library reads were still running at shutdown", len(late))

    def cancel(self, uid: int) -> None:
        """Stop the user's training and library read under way (first step of /forget)."""
        self.training.cancel(uid)
        if self.library is not None:
            self.library.cancel(uid)

    async def erase(self, uid: int, erase_rows: Callable[[int], dict[str, int]]) -> dict[str, int]:
        """Drop the user's model from memory and disk and erase their rows, under the model's
        lock so that no late save can bring it back; the counts ``erase_rows`` returns."""
        self.picks.forget(uid)
        return await asyncio.to_thread(self.models.forget, uid, erase_rows)


#: What ``fresh:`` takes: new tracks (the default), or the same list again.
FRESH_WORDS: dict[str, bool] = {
    "yes": True,
    "y": True,
    "on": True,
    "true": True,
    "new": True,
    "no": False,
    "n": False,
    "off": False,
    "false": False,
    "again": False,
    "same": False,
}


def fresh_choice(fresh: str | None) -> bool:
    """True for new tracks (no ``fresh`` given, or "yes"), False for the same list ("no")."""
    if fresh is None or not fresh.strip():
        return True
    choice = FRESH_WORDS.get(fresh.strip().lower())
    if choice is None:
        shown = fresh.strip()[:30]
        raise BadInput(
            f"fresh takes yes or no, not “{shown}”: /recommend fresh:no shows the tracks "
            "you were shown lately again."
        )
    return choice


def list_asked(
    settings: RecommendSettings, count: int | None, mood: str | None, bpm: int | None
) -> tuple[int, str | None, int | None]:
    """A list's count (the default when not given), mood and bpm, checked (/recommend, /blend)."""
    n = (
        settings.default_count
        if count is None
        else check_int(count, "The count", 1, settings.max_count)
    )
    return n, _parse_mood(mood), None if bpm is None else check_int(bpm, "bpm", 40, 220)


def _parse_mood(mood: str | None) -> str | None:
    if mood is None or not mood.strip():
        return None
    canonical = canonical_mood(mood)
    if canonical is None:
        shown = mood.strip()[:30]
        raise BadInput(f"I don't know the mood “{shown}”. Try one of: {', '.join(MOODS)}.")
    return canonical
