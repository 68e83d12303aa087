"""Which track a /genre or /similar asks about, for any Spotify track.

A link, URI or id is looked up in the catalog, then among stored tracks; a track neither holds gets
its name from the asking user's Spotify (``GET /tracks/{id}``, when linked) and its audio features
through the feature chain (ReccoBeats needs no account). "title - artist" is searched in the
catalog and among stored tracks (``bot.core.lookup.search``), then on the user's Spotify with
``track:``/``artist:`` filters.
Whatever is found is stored, so the next question about it costs no call.
"""

from __future__ import annotations

import asyncio
import logging

import pandas as pd

from bot.core.catalog import CatalogState
from bot.core.errors import BadInput, NotFound, UserFacingError
from bot.core.feature_chain import FeatureChain
from bot.core.lookup.search import TrackFinder
from bot.core.ports import SpotifyAccount, SpotifyPort, SpotifyTrack
from bot.core.track_refs import (
    clean_query,
    looks_like_link,
    parse_track_ref,
    split_title_artist,
)
from recommender.tracks import AUDIO_FEATURES, track_row
from storage.track_store import TrackStore

log = logging.getLogger(__name__)
NAMES = {"reccobeats": "ReccoBeats", "spotify_legacy": "Spotify"}


def has_features(row: pd.Series) -> bool:
    """Whether a track row carries any audio feature."""
    return bool(row[list(AUDIO_FEATURES)].notna().any())


def search_query(title: str, artist: str) -> str:
    """A Spotify search narrowed to a title (and artist): ``track:"…" artist:"…"``."""
    title, artist = title.replace('"', " ").strip(), artist.replace('"', " ").strip()
    return f'track:"{title}"' + (f' artist:"{artist}"' if artist else "")


class TrackResolver:
    """Finds the track a user named, asking Spotify and the feature chain when needed."""

    def __init__(
        self,
        catalog: CatalogState,
        tracks: TrackStore,
        chain: FeatureChain,
        spotify: SpotifyPort | None = None,
    ) -> None:
        """``spotify`` None: this bot has no Spotify app (names are never looked up there)."""
        self.catalog = catalog
        self.tracks = tracks
        self.chain = chain
        self.spotify = spotify
        self.finder = TrackFinder(catalog, tracks)

    async def resolve(self, query: str, uid: int) -> tuple[str, pd.Series]:
        """(track id, track row) of what the user named; BadInput or NotFound otherwise."""
        text = clean_query(query)
        track_id = parse_track_ref(text)
        if track_id is None and looks_like_link(text):
            raise BadInput(
                "That link isn't a Spotify track. Send an open.spotify.com/track/… "
                "link, a spotify:track:… URI, or “title - artist”."
            )
        if track_id is not None:
            return track_id, await self._track_by_id(uid, track_id)
        readings = split_title_artist(text)
        best = await asyncio.to_thread(self.finder.find, text, 1)
        if len(best):
            track_id = str(best.index[0])
            return track_id, await self._known_row(track_id)
        for title, artist in readings:  # any text within names: symbols, scripts without spaces
            hits = await asyncio.to_thread(self.tracks.search_tracks, title, artist, 1)
            if len(hits):
                return str(hits.index[0]), hits.iloc[0]
        account = await self._account(uid)
        found = await self._search_spotify(account, readings) if account is not None else None
        if found is not None:
            return found
        shown = text if len(text) <= 60 else text[:60] + "…"
        searchable = self.spotify is not None and account is None
        hint = " (or /link spotify to search it)" if searchable else ""
        raise NotFound(
            f"No track matches “{shown}”. Try “title - artist”, or a Spotify link{hint}."
        )

    async def _known_row(self, track_id: str) -> pd.Series:
        """The row of a track the search found: the catalog's, else the stored one."""
        if track_id in self.catalog.tracks.index:
            return track_row(self.catalog.tracks, track_id)
        stored = await asyncio.to_thread(self.tracks.get_tracks, [track_id])
        return stored.iloc[0]

    async def _track_by_id(self, uid: int, track_id: str) -> pd.Series:
        if track_id in self.catalog.tracks.index:
            return track_row(self.catalog.tracks, track_id)
        stored = await asyncio.to_thread(self.tracks.get_tracks, [track_id])
        row = stored.iloc[0] if len(stored) else None
        if row is not None and has_features(row):
            return row
        account = await self._account(uid)
        looked, unreachable = await self._look_up(track_id, account)
        if looked is not None:
            return looked
        if row is not None and str(row.get("name") or ""):
            return row  # known by name; the caller says its features are unknown
        where = "demo catalog" if self.catalog.is_demo else "catalog"
        if unreachable:
            told = f"and {' and '.join(unreachable)} couldn't be reached just now (try again later)"
        elif account is not None and self._sources():
            told = "and neither Spotify nor ReccoBeats knows it"
        elif account is not None:
            told = "and Spotify doesn't know it"
        elif self._sources():
            told = "and ReccoBeats has no audio features for it"
        else:
            told = "and no Spotify account is linked to look it up"
        demo = (
            " Until a real catalog is imported, /genre knows the tracks of your imported "
            f"library (try “title - artist”) and the demo's own.\n{self.catalog.note}"
            if self.catalog.is_demo
            else ""
        )
        raise NotFound(f"I don't know track {track_id}: it isn't in the {where}, {told}.{demo}")

    async def _search_spotify(
        self, account: SpotifyAccount, readings: list[tuple[str, str]]
    ) -> tuple[str, pd.Series] | None:
        """The first Spotify hit for the readings of "title - artist" (None if none)."""
        for title, artist in readings:
            try:
                found = await account.search_tracks(search_query(title, artist), 0, 1)
            except UserFacingError as error:
                log.info("spotify search for /genre failed: %s", type(error).__name__)
                return None
            if found:
                row, _ = await self._store_and_fill(found[0], account)
                return found[0].track_id, row
        return None

    async def _look_up(
        self, track_id: str, account: SpotifyAccount | None
    ) -> tuple[pd.Series | None, list[str]]:
        """(the stored row of ``track_id`` after asking Spotify for its name and the feature chain
        for its features — None when neither knows it —, the services that couldn't be reached)."""
        meta: SpotifyTrack | None = None
        unreachable: list[str] = []
        if account is not None:
            try:
                meta = await account.track(track_id)
            except UserFacingError as error:  # Spotify busy: the features may still be found
                log.info("spotify track lookup failed: %s", type(error).__name__)
                unreachable.append("Spotify")
        if meta is None and not self._sources():
            return None, unreachable
        row, failed = await self._store_and_fill(meta or SpotifyTrack(track_id, "", ()), account)
        unreachable += [NAMES.get(name, name) for name in failed]
        return (row if meta is not None or has_features(row) else None), unreachable

    async def _store_and_fill(
        self, track: SpotifyTrack, account: SpotifyAccount | None
    ) -> tuple[pd.Series, list[str]]:
        """The track's row, stored with the features the chain found; the sources that failed."""
        stored, report = await self.chain.store_tracks([track], account)
        return stored.iloc[0], report.failed_sources

    def _sources(self) -> bool:
        """Whether the feature chain can ask anyone beyond the catalog."""
        return bool(self.chain.sources)

    async def _account(self, uid: int) -> SpotifyAccount | None:
        """The user's Spotify when linked (None otherwise, or when linking isn't set up)."""
        spotify = self.spotify
        if spotify is None or await spotify.linked_name(uid) is None:
            return None
        try:
            return await spotify.account(uid)
        except UserFacingError:
            return None
